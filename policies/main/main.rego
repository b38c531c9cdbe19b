# METADATA
# title: Decision
# description: |-
#   Collects the findings of every policy package under
#   data.runpolicy.policies, built-in or added by a user, into one decision.
#   Each violation is the object the policy's deny rule produced plus the
#   policy's name and effective mode; allow is false exactly when a
#   violation's mode is enforce. warn rules add warnings that never block.
# related_resources:
#   - description: runpolicy policies and settings
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.main

import data.runpolicy.lib
import data.runpolicy.lib.approvals

# METADATA
# title: Decision
# description: |-
#   The decision on the input document. Violations and warnings come in
#   OPA's set order: runpolicy sorts them by policy, job, line and message.
# entrypoint: true
decision := {
	"allow": count([v | some v in violations; v.mode == "enforce"]) == 0,
	"violations": [v | some v in violations],
	"warnings": [w | some w in warnings],
}

# METADATA
# title: Settings errors
# description: One line for each invalid setting; the engine refuses a configuration with any.
# entrypoint: true
config_errors := data.runpolicy.config.errors

# METADATA
# title: Prepared
# description: |-
#   What decisions need that reads no input: the index of every list
#   setting (see runpolicy.lib.patterns) and the organization-wide mode of
#   every active policy, and the tags of its findings. The engine evaluates
#   it once per load and stores it at data.internal.runpolicy.prepared.
# entrypoint: true
prepared := {"lists": lib.prepared, "active": modes, "tags": _tags_of(modes)}

# violations and warnings read each policy's deny and warn sets once per
# decision, and only for the policies in active. A policy that an approval
# of this version of the workflow waives (runpolicy.lib.approvals) has its
# findings reported as warnings instead.
violations := {object.union(_as_object(finding), _tags[name]) |
	some name, _ in active
	some finding in data.runpolicy.policies[name].deny
} if {
	not input.approvals
} else := {object.union(_as_object(finding), _tags[name]) |
	some name, _ in object.remove(active, approvals.waived)
	some finding in data.runpolicy.policies[name].deny
}

warnings := _warnings if {
	not input.approvals
} else := _warnings | _waived

_warnings := {object.union(_as_object(finding), {"policy": name}) |
	some name, _ in active
	some finding in data.runpolicy.policies[name].warn
}

# _waived are the findings of the policies an approval of this version of
# the workflow waives, reported as warnings.
_waived := {object.union(waived, {"policy": name, "message": sprintf("approved (the finding is waived): %s", [waived.message])}) |
	some name in approvals.waived
	active[name]
	some finding in data.runpolicy.policies[name].deny
	waived := _as_object(finding)
}

# _tags are what each finding of a policy carries: its name, its mode, and
# approvable: true when an approval may waive it, so that a cancelled run
# whose enforced findings all say so can be approved.
_tags := data.internal.runpolicy.prepared.tags if {
	count(lib.repository_patterns) == 0
} else := _tags_of(modes)

_tags_of(policy_modes) := {name: object.union({"policy": name, "mode": mode}, _approvable_tag(name)) |
	some name, mode in policy_modes
}

_approvable_tag(name) := {"approvable": true} if {
	approvals.approvable(name)
} else := {}

# _as_object accepts conftest-style string findings: deny contains msg if ….
_as_object(finding) := finding if {
	is_object(finding)
} else := {"message": sprintf("%v", [finding])}

# active maps each policy that is not off to its effective mode. When no
# repository override applies, these are the organization-wide modes the
# engine prepared.
active := data.internal.runpolicy.prepared.active if {
	count(lib.repository_patterns) == 0
} else := modes

# modes maps each policy to its mode, leaving out the policies that are off
# and those that say they have nothing to judge under their settings
# (idle), so that none of their rules is evaluated.
modes := {name: mode |
	some name in policy_names
	mode := _mode(object.get(lib.settings(name), "mode", "enforce"))
	mode != "off"
	not data.runpolicy.policies[name].idle
}

# _mode reads an unquoted `mode: off` as off: YAML 1.1 (which OPA's and
# runpolicy's YAML readers follow) makes it the boolean false. This is the
# one place a mode is read; runpolicy.config accepts false for the same
# reason and refuses true (`mode: on` names no mode).
_mode(false) := "off"

_mode(mode) := mode if is_string(mode)

# policy_names are the packages directly under data.runpolicy.policies: the
# engine lists them from the compiled modules; without the list (stock opa)
# they are found by evaluating each package's deny and warn rules (object.keys
# would evaluate every rule of every package).
policy_names := {name | some name in data.internal.runpolicy.packages} if {
	data.internal.runpolicy.packages
} else := _with_deny | _with_warn

# regal ignore:use-object-keys
_with_deny := {name | some name; data.runpolicy.policies[name].deny}

# regal ignore:use-object-keys
_with_warn := {name | some name; data.runpolicy.policies[name].warn}
