# Deny a request when the user's spend this month plus the request's estimate passes the
# user's budget. Budgets and spend come from data (the control store), not from the request.
package sluice.budget

limit := object.get(data.budgets.users, input.user, data.budgets.default_usd)

spent := object.get(data.spend, input.user, 0)

deny contains msg if {
	# A rough upper bound from the request's size: 4 characters a token, at 10 USD per million tokens.
	estimate := input.request.estimated_tokens * 0.00001
	spent + estimate > limit
	msg := sprintf("user %s would exceed the monthly budget of %v USD", [input.user, limit])
}
