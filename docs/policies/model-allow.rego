# Allow only approved models; everything else is denied with a reason.
package sluice.models

allowed_models := {"gpt-4o-mini", "gpt-4.1", "claude-sonnet-4", "claude-haiku-4"}

default allow := false

allow if input.model.resolved in allowed_models

deny contains msg if {
	not allow
	msg := sprintf("model %q is not on the allow list", [input.model.requested])
}
