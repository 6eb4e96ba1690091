# Deny a request when the user's spend this month plus the request's estimate passes the
# user's budget. Budgets and spend come from data (the control store), not from the request.
package sluice.budget

limit := object.get(data.budgets.users, input.identity.user, data.budgets.default_usd)

spent := object.get(data.spend, input.identity.user, 0)

deny contains msg if {
	spent + input.estimate.cost_usd > limit
	msg := sprintf("user %s would exceed the monthly budget of %v USD", [input.identity.user, limit])
}
