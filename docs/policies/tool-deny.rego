# Deny requests that offer the model a tool from the deny list.
package sluice.tools

blocked_tools := {"shell_exec", "file_delete", "send_email", "run_sql"}

deny contains msg if {
	some name in input.tool_names
	name in blocked_tools
	msg := sprintf("tool %q is not allowed", [name])
}
