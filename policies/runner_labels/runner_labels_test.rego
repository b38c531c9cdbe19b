package runpolicy.policies.runner_labels_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.runner_labels

# runs_on is a document whose job "build" runs on labels.
runs_on(labels) := fx.patched({"jobs": {"build": fx.job(labels, [])}})

dynamic_job := object.union(fx.job([], []), {"runs_on": {"labels": [], "group": null, "dynamic": true, "expression": "${{ matrix.os }}", "candidates": []}})

queued(labels) := fx.patched({"workflow_job": {
	"id": 7, "name": "build", "labels": labels,
	"runner_name": "", "runner_group_name": "", "status": "queued",
}})

test_nothing_configured_allows_every_label if {
	count(runner_labels.deny) == 0 with input as runs_on(["self-hosted", "anything"])
}

test_disallowed if {
	runner_labels.deny == {{
		"job": "build", "line": 5,
		"message": "job build runs on \"Self-Hosted\", which runner_labels.disallowed forbids: choose another runner",
	}} with input as runs_on(["Self-Hosted", "linux"])
		with data.runpolicy.settings.runner_labels.disallowed as ["self-hosted"]
}

test_disallowed_patterns if {
	{v.message | some v in runner_labels.deny} == {"job build runs on \"gpu-a100\", which runner_labels.disallowed forbids: choose another runner"} with input as runs_on(["gpu-a100", "ubuntu-latest"])
		with data.runpolicy.settings.runner_labels.disallowed as ["gpu-*"]
}

test_allowed_list if {
	{v.message | some v in runner_labels.deny} == {"job build runs on \"windows-latest\", which is not in runner_labels.allowed (ubuntu-*, macos-14): choose an allowed runner or add the label"} with input as runs_on(["UBUNTU-22.04", "windows-latest", "macos-14"])
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-*", "macos-14"]
}

test_dynamic_labels_warn if {
	runner_labels.warn == {{
		"job": "build", "line": 5,
		"message": "job build chooses its runner at run time (${{ matrix.os }}): runner_labels cannot judge it from the file, only when the job is queued",
	}} with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.disallowed as ["self-hosted"]
	count(runner_labels.deny) == 0 with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-latest"]
	count(runner_labels.warn) == 1 with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-latest"]
}

test_dynamic_labels_without_label_settings_are_not_worth_a_warning if {
	count(runner_labels.warn) == 0 with input as fx.patched({"jobs": {"build": dynamic_job}})
}

test_dynamic_labels_without_whole_expression if {
	job := object.union(fx.job(["self-hosted", "pool=${{ inputs.pool }}"], []), {"runs_on": {"labels": ["self-hosted", "pool=${{ inputs.pool }}"], "group": null, "dynamic": true, "expression": null, "candidates": []}})
	{v.message | some v in runner_labels.warn} == {"job build chooses its runner at run time (an expression in runs-on): runner_labels cannot judge it from the file, only when the job is queued"} with input as fx.patched({"jobs": {"build": job}})
		with data.runpolicy.settings.runner_labels.allowed as ["linux"]
	{v.message | some v in runner_labels.deny} == {"job build runs on \"self-hosted\", which is not in runner_labels.allowed (linux): choose an allowed runner or add the label"} with input as fx.patched({"jobs": {"build": job}})
		with data.runpolicy.settings.runner_labels.allowed as ["linux"]
}

test_queued_job_judges_resolved_labels if {
	doc := object.union(queued(["self-hosted", "k8s"]), {"jobs": {"build": dynamic_job}})
	runner_labels.deny == {{
		"job": "build",
		"message": "job build runs on \"k8s\", which runner_labels.disallowed forbids: choose another runner",
	}} with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
	count(runner_labels.warn) == 0 with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
}

test_queued_job_ignores_file_labels if {
	doc := object.union(queued(["ubuntu-latest"]), {"jobs": {"build": fx.job(["k8s"], [])}})
	count(runner_labels.deny) == 0 with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
}

# Runner groups.

# with_group is job build running in group with labels, as runs-on:
# {group: group, labels: labels} writes it.
with_group(group, labels) := fx.patched({"jobs": {"build": object.union(fx.job(labels, []), {"runs_on": {"labels": labels, "group": group, "dynamic": false, "expression": null, "candidates": [{"labels": labels, "group": group}]}})}})

queued_in(group, labels) := fx.patched({"workflow_job": {
	"id": 7, "name": "build", "labels": labels,
	"runner_name": "", "runner_group_name": group, "status": "queued",
}})

group_settings(s) := object.union(
	{"mode": "enforce", "disallowed": [], "allowed": [], "disallowed_groups": [], "allowed_groups": []},
	s,
)

msg_group_disallowed(group) := sprintf("job build runs in runner group %q, which runner_labels.disallowed_groups forbids: choose another runner group", [group])

msg_group_not_allowed(group, list) := sprintf("job build runs in runner group %q, which is not in runner_labels.allowed_groups (%s): choose an allowed runner group or add it", [group, list])

msg_no_labels(group) := sprintf("job build runs in runner group %q without labels, so runner_labels.allowed cannot check its runner: name allowed labels in runs-on, or set runner_labels.allowed_groups", [group])

msg_no_labels_warn(group) := sprintf("job build runs in runner group %q without labels: runner_labels.disallowed cannot check its runner's labels", [group])

msg_no_group := "job build names no runner group, so runner_labels.allowed_groups cannot check its runner: give runs-on a group, or set runner_labels.allowed (labels)"

msg_no_group_warn := "job build names no runner group: runner_labels cannot check it against the group lists; give runs-on a group, or set runner_labels.allowed (labels)"

msg_queued_no_group := "job build was queued without a runner group: runner_labels cannot check it against the group lists; set runner_labels.allowed (labels) to judge its labels"

msg_label_not_allowed(label, list) := sprintf("job build runs on %q, which is not in runner_labels.allowed (%s): choose an allowed runner or add the label", [label, list])

msg_dynamic(expr) := sprintf("job build chooses its runner at run time (%s): runner_labels cannot judge it from the file, only when the job is queued", [expr])

# Each case: [name, settings, document, deny messages, warn messages].
group_cases := [
	["nothing configured", {}, with_group("anything", []), set(), set()],
	["disallowed group", {"disallowed_groups": ["untrusted-*"]}, with_group("Untrusted-Pool", ["linux"]), {msg_group_disallowed("Untrusted-Pool")}, set()],
	["group not disallowed", {"disallowed_groups": ["untrusted-*"]}, with_group("build", ["linux"]), set(), set()],
	["allowed group", {"allowed_groups": ["build", "gpu-*"]}, with_group("GPU-a100", []), set(), set()],
	["group not allowed", {"allowed_groups": ["build", "gpu-*"]}, with_group("prod-deploy", []), {msg_group_not_allowed("prod-deploy", "build, gpu-*")}, set()],
	# A group alone while only label lists are set: any runner of the group.
	["group without labels, label allow list", {"allowed": ["ubuntu-latest"]}, with_group("anything", []), {msg_no_labels("anything")}, set()],
	["group without labels, label deny list", {"disallowed": ["self-hosted"]}, with_group("anything", []), set(), {msg_no_labels_warn("anything")}],
	["group without labels, both lists", {"allowed": ["ubuntu-latest"], "allowed_groups": ["anything"]}, with_group("anything", []), set(), set()],
	["group with labels, label allow list", {"allowed": ["linux"]}, with_group("anything", ["linux"]), set(), set()],
	["group with a label not allowed", {"allowed": ["linux"]}, with_group("anything", ["gpu"]), {msg_label_not_allowed("gpu", "linux")}, set()],
	# Labels alone while only group lists are set: any runner group.
	["labels without group, group allow list", {"allowed_groups": ["build"]}, runs_on(["self-hosted"]), {msg_no_group}, set()],
	["labels without group, group deny list", {"disallowed_groups": ["untrusted"]}, runs_on(["self-hosted"]), set(), {msg_no_group_warn}],
	["labels without group, labels checked", {"allowed_groups": ["build"], "allowed": ["self-hosted"]}, runs_on(["self-hosted"]), set(), set()],
	# A label deny list says nothing of the runner's group.
	["labels without group, labels denied", {"allowed_groups": ["build"], "disallowed": ["gpu"]}, runs_on(["gpu"]), {"job build runs on \"gpu\", which runner_labels.disallowed forbids: choose another runner", msg_no_group}, set()],
	# A group decided at run time.
	[
		"group expression",
		{"allowed_groups": ["build"]},
		fx.patched({"jobs": {"build": object.union(fx.job([], []), {"runs_on": {"labels": [], "group": "${{ inputs.group }}", "dynamic": true, "expression": null, "candidates": []}})}}),
		set(), {msg_dynamic("an expression in runs-on")},
	],
	[
		"group expression with a written label",
		{"allowed": ["linux"]},
		fx.patched({"jobs": {"build": object.union(fx.job(["gpu"], []), {"runs_on": {"labels": ["gpu"], "group": "${{ inputs.group }}", "dynamic": true, "expression": null, "candidates": []}})}}),
		{msg_label_not_allowed("gpu", "linux")}, {msg_dynamic("an expression in runs-on")},
	],
	[
		"labels expression with a written group",
		{"allowed_groups": ["build"]},
		fx.patched({"jobs": {"build": object.union(fx.job(["${{ inputs.os }}"], []), {"runs_on": {"labels": ["${{ inputs.os }}"], "group": "prod", "dynamic": true, "expression": null, "candidates": []}})}}),
		{msg_group_not_allowed("prod", "build")}, {msg_dynamic("an expression in runs-on")},
	],
	# A queued job: the group GitHub names is judged; when it names none,
	# the file's group was judged when the run was requested.
	["queued job in a disallowed group", {"disallowed_groups": ["untrusted"]}, queued_in("untrusted", ["self-hosted"]), {{"job": "build", "message": msg_group_disallowed("untrusted")}}, set()],
	["queued job in a group not allowed", {"allowed_groups": ["build"]}, queued_in("GitHub Actions", ["ubuntu-latest"]), {{"job": "build", "message": msg_group_not_allowed("GitHub Actions", "build")}}, set()],
	["queued job in an allowed group", {"allowed_groups": ["build"]}, queued_in("build", ["self-hosted"]), set(), set()],
	["queued job, group unknown", {"allowed_groups": ["build"]}, queued_in("", ["self-hosted"]), set(), {{"job": "build", "message": msg_queued_no_group}}],
	["queued job, group unknown, deny list", {"disallowed_groups": ["untrusted"]}, queued_in("", ["self-hosted"]), set(), {{"job": "build", "message": msg_queued_no_group}}],
	["queued job, group unknown, labels checked", {"allowed_groups": ["build"], "allowed": ["self-hosted"]}, queued_in("", ["self-hosted"]), set(), set()],
	["queued job in a group, without labels", {"allowed": ["linux"]}, queued_in("pool", []), {{"job": "build", "message": msg_no_labels("pool")}}, set()],
]

test_runner_groups if {
	every case in group_cases {
		[name, s, doc, denies, warns] := case
		found := {"case": name, "deny": runner_labels.deny, "warn": runner_labels.warn} with input as doc
			with data.runpolicy.settings.runner_labels as group_settings(s)
		found == {"case": name, "deny": findings(denies), "warn": findings(warns)}
	}
}

# Every combination of the four lists, each set so that it passes what it
# can see of the runner (label linux, group pool): a runner a list cannot
# check is denied when that list is an allow list, warned about when it is
# a deny list, and passes only when an allow list of the other kind vouches
# for it (allowed_groups for a group's runners, allowed for labels).

list_values := {"allowed": ["linux"], "disallowed": ["self-hosted"], "allowed_groups": ["pool"], "disallowed_groups": ["evil-*"]}

runner_kinds := ["group only", "labels only", "both", "queued without group", "queued without labels"]

runner_docs := {
	"group only": with_group("pool", []),
	"labels only": runs_on(["linux"]),
	"both": with_group("pool", ["linux"]),
	"queued without group": queued_in("", ["linux"]),
	"queued without labels": queued_in("pool", []),
}

cannot_check := {
	"group only": {"deny": msg_no_labels("pool"), "warn": msg_no_labels_warn("pool")},
	"labels only": {"deny": msg_no_group, "warn": msg_no_group_warn},
	"queued without group": {"warn": {"job": "build", "message": msg_queued_no_group}},
	"queued without labels": {"deny": {"job": "build", "message": msg_no_labels("pool")}, "warn": {"job": "build", "message": msg_no_labels_warn("pool")}},
}

# Each case: [lists set, verdict for each of runner_kinds].
list_cases := [
	[[], ["", "", "", "", ""]],
	[["allowed"], ["deny", "", "", "", "deny"]],
	[["disallowed"], ["warn", "", "", "", "warn"]],
	[["allowed_groups"], ["", "deny", "", "warn", ""]],
	[["disallowed_groups"], ["", "warn", "", "warn", ""]],
	[["allowed", "disallowed"], ["deny", "", "", "", "deny"]],
	[["allowed", "allowed_groups"], ["", "", "", "", ""]],
	[["allowed", "disallowed_groups"], ["deny", "", "", "", "deny"]],
	[["disallowed", "allowed_groups"], ["", "deny", "", "warn", ""]],
	[["disallowed", "disallowed_groups"], ["warn", "warn", "", "warn", "warn"]],
	[["allowed_groups", "disallowed_groups"], ["", "deny", "", "warn", ""]],
	[["allowed", "disallowed", "allowed_groups"], ["", "", "", "", ""]],
	[["allowed", "disallowed", "disallowed_groups"], ["deny", "", "", "", "deny"]],
	[["allowed", "allowed_groups", "disallowed_groups"], ["", "", "", "", ""]],
	[["disallowed", "allowed_groups", "disallowed_groups"], ["", "deny", "", "warn", ""]],
	[["allowed", "disallowed", "allowed_groups", "disallowed_groups"], ["", "", "", "", ""]],
]

test_every_list_combination if {
	count(list_cases) == 16
	every case in list_cases {
		[names, verdicts] := case
		every i, kind in runner_kinds {
			settings := {name: list_values[name] | some name in names}
			found := {"lists": names, "runner": kind, "deny": runner_labels.deny, "warn": runner_labels.warn} with input as runner_docs[kind]
				with data.runpolicy.settings.runner_labels as group_settings(settings)
			found == {"lists": names, "runner": kind, "deny": expected(kind, verdicts[i], "deny"), "warn": expected(kind, verdicts[i], "warn")}
		}
	}
}

expected(kind, verdict, rule) := findings({cannot_check[kind][rule]}) if verdict == rule

else := set()

# findings turns messages into findings at job build, line 5; a finding
# given whole (a queued job has no line) is kept.
findings(expected) := {f |
	some e in expected
	f := finding(e)
}

finding(e) := e if is_object(e)

else := {"job": "build", "line": 5, "message": e}

declared := {"runner_labels": {
	"mode": "mode", "disallowed": "strings", "allowed": "strings",
	"disallowed_groups": "strings", "allowed_groups": "strings",
}}

test_group_settings_are_checked if {
	count(data.runpolicy.config.errors) == 0
		with data.runpolicy.settings.runner_labels as group_settings({"allowed_groups": ["a"], "disallowed_groups": ["b-*"]})
		with data.internal.runpolicy.declared as declared
	data.runpolicy.config.errors == {"settings.runner_labels.allowed_groups: must be a list of strings, got build"}
		with data.runpolicy.settings.runner_labels as group_settings({"allowed_groups": "build"})
		with data.internal.runpolicy.declared as declared
}

test_idle_without_lists if {
	runner_labels.idle with input as fx.doc
	not runner_labels.idle with input as fx.doc with data.runpolicy.settings.runner_labels.allowed_groups as ["a"]
	not runner_labels.idle with input as fx.doc with data.runpolicy.settings.runner_labels.disallowed as ["a"]
}

# Matrix candidates: runs-on reading matrix values the file lists is judged
# on every value, without a warning.

matrix_job(candidates) := fx.patched({"jobs": {"build": object.union(fx.job([], []), {"runs_on": {
	"labels": [], "group": null, "dynamic": false, "expression": "${{ matrix.os }}",
	"candidates": candidates,
}})}})

# Each case: [name, settings, candidates, deny messages, warn messages].
candidate_cases := [
	[
		"every value allowed",
		{"allowed": ["ubuntu-*", "macos-*"]},
		[{"labels": ["ubuntu-latest"], "group": null}, {"labels": ["macos-14"], "group": null}],
		set(), set(),
	],
	[
		"one value not allowed",
		{"allowed": ["ubuntu-*"]},
		[{"labels": ["ubuntu-latest"], "group": null}, {"labels": ["self-hosted", "gpu"], "group": null}],
		{msg_label_not_allowed("self-hosted", "ubuntu-*"), msg_label_not_allowed("gpu", "ubuntu-*")}, set(),
	],
	[
		"one value disallowed",
		{"disallowed": ["self-hosted"]},
		[{"labels": ["ubuntu-latest"], "group": null}, {"labels": ["self-hosted"], "group": null}],
		{"job build runs on \"self-hosted\", which runner_labels.disallowed forbids: choose another runner"}, set(),
	],
	[
		"a group value not allowed",
		{"allowed_groups": ["build"]},
		[{"labels": ["linux"], "group": "build"}, {"labels": ["linux"], "group": "prod"}],
		{msg_group_not_allowed("prod", "build")}, set(),
	],
	[
		"a value naming only a group under a label allow list",
		{"allowed": ["linux"]},
		[{"labels": ["linux"], "group": null}, {"labels": [], "group": "big"}],
		{msg_no_labels("big")}, set(),
	],
]

# A runner whose labels or group an expression decides at run time: the
# job warns, and what the file writes beside the expression is judged.
dynamic_matrix_job(candidates) := fx.patched({"jobs": {"build": object.union(fx.job([], []), {"runs_on": {
	"labels": [], "group": null, "dynamic": true, "expression": "${{ matrix.os }}",
	"candidates": candidates,
}})}})

# Each case: [name, settings, candidates, deny messages, warn messages].
run_time_candidate_cases := [
	[
		"a literal value beside one decided at run time",
		{"disallowed": ["self-hosted"]},
		[{"labels": ["self-hosted"], "group": null}],
		{"job build runs on \"self-hosted\", which runner_labels.disallowed forbids: choose another runner"}, {msg_dynamic("${{ matrix.os }}")},
	],
	[
		"a literal label beside one decided at run time",
		{"allowed": ["linux"]},
		[{"labels": ["${{ vars.OS }}", "gpu"], "group": null}],
		{msg_label_not_allowed("gpu", "linux")}, {msg_dynamic("${{ matrix.os }}")},
	],
	# The labels are decided at run time, not missing: no "cannot check".
	[
		"a literal group beside labels decided at run time",
		{"allowed": ["linux"], "allowed_groups": ["build"]},
		[{"labels": ["${{ vars.OS }}"], "group": "prod"}],
		{msg_group_not_allowed("prod", "build")}, {msg_dynamic("${{ matrix.os }}")},
	],
	[
		"literal labels beside a group decided at run time",
		{"allowed_groups": ["build"]},
		[{"labels": ["linux"], "group": "${{ vars.GROUP }}"}],
		set(), {msg_dynamic("${{ matrix.os }}")},
	],
]

test_run_time_candidates if {
	every case in run_time_candidate_cases {
		[name, s, candidates, denies, warns] := case
		found := {"case": name, "deny": runner_labels.deny, "warn": runner_labels.warn} with input as dynamic_matrix_job(candidates)
			with data.runpolicy.settings.runner_labels as group_settings(s)
		found == {"case": name, "deny": findings(denies), "warn": findings(warns)}
	}
}

test_matrix_candidates if {
	every case in candidate_cases {
		[name, s, candidates, denies, warns] := case
		found := {"case": name, "deny": runner_labels.deny, "warn": runner_labels.warn} with input as matrix_job(candidates)
			with data.runpolicy.settings.runner_labels as group_settings(s)
		found == {"case": name, "deny": findings(denies), "warn": findings(warns)}
	}
}
