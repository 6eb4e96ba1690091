# Deny traffic outside business hours (Monday to Friday, 08:00 to 18:00 in the office's zone).
package sluice.hours

# An IANA zone name works too ("Europe/Berlin"); UTC avoids the zone conversion cost.
office_zone := "UTC"

within_hours if {
	now := [time.now_ns(), office_zone]
	not time.weekday(now) in {"Saturday", "Sunday"}
	[hour, _, _] := time.clock(now)
	hour >= 8
	hour < 18
}

deny contains "outside business hours (Mon-Fri 08:00-18:00 UTC)" if not within_hours
