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

# allow is written out rather than read from a rule: each rule a decision
# evaluates costs more than the comprehension. Violations and warnings come
# in OPA's set order; runpolicy sorts them by policy, job, line and message
# when it decodes a decision, which costs less in Go than a sort here.
decision := {
	"allow": count([v | some v in violations; v.mode == "enforce"]) == 0,
	"violations": [v | some v in violations],
	"warnings": [w | some w in warnings],
}

# violations and warnings are comprehensions rather than partial rules:
# each policy's deny and warn sets are then read once per decision.
# A policy an approval of this version of the workflow waives
# (runpolicy.lib.approvals) has its findings reported as warnings instead;
# the findings of an approvable policy say approvable: true, so that a
# cancelled run whose enforced findings all do can be approved.
violations := {object.union(as_object(finding), tags[name]) |
	some name, _ in judged
	some finding in data.runpolicy.policies[name].deny
}

# judged are the active policies whose findings are violations: every one
# unless an approval waives some. Most runs have no approval: the input
# says so without a rule evaluated.
judged := active if {
	not input.approvals
} else := object.remove(active, approvals.waived)

warnings := {object.union(as_object(finding), {"policy": name}) |
	some name, _ in active
	some finding in data.runpolicy.policies[name].warn
} | waived

# tags are the keys each active policy adds to its findings: its name, its
# mode, and approvable: true when an approval may waive them. Like active,
# they read no input unless a repository override applies: the engine
# prepares them once per load (see prepared below).
tags := data.runpolicy.prepared.tags if {
	count(lib.repository_patterns) == 0
} else := tags_of(modes)

tags_of(policy_modes) := {name: object.union({"policy": name, "mode": mode}, approvable_tag(name)) | some name, mode in policy_modes}

approvable_tag(name) := {"approvable": true} if {
	approvals.approvable(name)
} else := {}

waived := set() if {
	not input.approvals
} else := {object.union(as_object(finding), {"policy": name, "message": sprintf("approved (the finding is waived): %s", [as_object(finding).message])}) |
	some name in approvals.waived
	active[name]
	some finding in data.runpolicy.policies[name].deny
}

# as_object accepts conftest-style string findings: deny contains msg if ….
as_object(finding) := finding if {
	is_object(finding)
} else := {"message": sprintf("%v", [finding])}

# active maps each policy that is not off to its effective mode. The mode is
# read before the policy's rules are referenced, so an off policy does no work.
# When no repository override applies, the modes are the organization-wide
# ones, which the engine prepared once per load (see prepared below).
active := data.runpolicy.prepared.active if {
	count(lib.repository_patterns) == 0
} else := modes

modes := {name: mode |
	some name in policy_names
	mode := mode_name(object.get(lib.settings(name), "mode", "enforce"))
	mode != "off"
}

# mode_name reads an unquoted `mode: off` as off: YAML 1.1 (which OPA's and
# runpolicy's YAML readers follow) makes it the boolean false. This is the
# one place a mode is read; runpolicy.config accepts false for the same
# reason and refuses true (`mode: on` names no mode).
mode_name(false) := "off"

mode_name(mode) := mode if mode != false

# policy_names are the packages directly under data.runpolicy.policies. The
# engine lists them in data.runpolicy.packages from the compiled modules; a
# stock `opa eval` has no such list, and finds them by evaluating each
# package's rules, which off policies then also pay for.
policy_names := {name | some name in data.runpolicy.packages} if {
	data.runpolicy.packages != false # what a bare ref tests, with fewer allocations in OPA
} else := {name | some name; data.runpolicy.policies[name].deny} | {name | some name; data.runpolicy.policies[name].warn}

# config_errors are one-line descriptions of invalid settings; the engine
# refuses to load a configuration that has any.
config_errors := data.runpolicy.config.errors

# prepared is what decisions need that reads no input: the index of every
# list setting (see runpolicy.lib.patterns), the organization-wide mode
# of every active policy and the tags of its findings. The engine evaluates it once per load and stores
# the result at data.runpolicy.prepared, so that no decision rebuilds it.
prepared := {"lists": lib.prepared, "active": modes, "tags": tags_of(modes)}
