# Deny messages whose content looks like it carries a credential (RE2 regexes, linear time).
package sluice.content

secret_patterns := {
	"aws access key": `AKIA[0-9A-Z]{16}`,
	"private key": `-----BEGIN [A-Z ]*PRIVATE KEY-----`,
	"bearer token": `(?i)bearer\s+[a-z0-9._~+/-]{20,}`,
}

deny contains msg if {
	some message in input.messages
	some kind, pattern in secret_patterns
	regex.match(pattern, message.text)
	msg := sprintf("message content looks like a %s", [kind])
}
