# Unit tests for gateway.rego, in the style of `opa test`: each test_ rule must be true.
package sluice.policy_test

import data.sluice.policy

chat := {"request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}}

with_tools(names) := object.union(chat, {"request": {"tools": [t |
	some name in names
	t := {"type": "function", "function": {"name": name}}
]}})

test_allowed_model_without_tools if {
	count(policy.deny) == 0 with input as chat
}

test_blocked_tool_is_denied if {
	policy.deny == {`tool "shell_exec" is not allowed`} with input as with_tools(["shell_exec", "web_search"])
}

test_every_blocked_tool_gets_a_reason if {
	reasons := policy.deny with input as with_tools(["file_delete", "send_email"])
	print("reasons:", reasons)
	count(reasons) == 2
}

test_other_tools_pass if {
	count(policy.deny) == 0 with input as with_tools(["web_search", "calculator"])
}

test_unlisted_model_is_denied if {
	policy.deny == {`model "gpt-3.5-turbo" is not on the allow list`} with input as {"request": {"model": "gpt-3.5-turbo"}}
}

test_model_allowed_through_data if {
	count(policy.deny) == 0 with input as {"request": {"model": "llama-3.1-70b"}}
		with data.sluice.models.extra as ["llama-3.1-70b"]
}

test_long_completion_is_held if {
	policy.hold with input as {"request": {"model": "gpt-4.1", "max_tokens": 64000}}
}

test_short_completion_is_not_held if {
	not policy.hold with input as chat
}
