# An example gateway policy with its unit tests beside it (gateway_test.rego).
# Run them before uploading the policy:
#   npx tsx bin/sluice.ts policies test docs/policies/example --verbose
package sluice.policy

blocked_tools := {"shell_exec", "file_delete", "send_email"}

default_models := {"gpt-4o-mini", "gpt-4.1", "claude-sonnet-4"}

# An organisation may allow more models through its data (data.sluice.models.extra).
allowed_models := default_models | {m | some m in data.sluice.models.extra}

deny contains msg if {
	some tool in input.request.tools
	name := tool.function.name
	name in blocked_tools
	msg := sprintf("tool %q is not allowed", [name])
}

deny contains msg if {
	not input.request.model in allowed_models
	msg := sprintf("model %q is not on the allow list", [input.request.model])
}

# Very long completions wait for an operator's approval.
hold if input.request.max_tokens > 32000
