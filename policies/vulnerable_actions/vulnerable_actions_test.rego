package runpolicy.policies.vulnerable_actions_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.vulnerable_actions

# mcph is GHSA-mcph-m25j-8j63 as `runpolicy advisories import` writes it
# (test/testdata/corpus/advisories/GHSA-mcph-m25j-8j63.json): a command
# injection in tj-actions/changed-files before 41, an ordinary vulnerability.
mcph := {"actions": {"tj-actions/changed-files": {"GHSA-mcph-m25j-8j63": {
	"advisories": ["GHSA-mcph-m25j-8j63", "CVE-2023-51664"],
	"summary": "tj-actions/changed-files has Potential Actions command injection in output filenames (GHSL-2023-271)",
	"all_versions": false, "commits": {}, "versions": {},
	"ranges": [{"introduced": "0", "fixed": "41"}],
	"sources": [{"url": "https://github.com/advisories/GHSA-mcph-m25j-8j63"}],
}}}}

deny_for(use, list) := found if {
	found := vulnerable_actions.deny with input as fx.patched({"uses": [use]})
		with data.runpolicy.vulnerable_additions as list
}

messages(use, list) := {v.message | some v in deny_for(use, list)}

test_version_in_range if {
	deny_for(fx.action("tj-actions/changed-files@v40"), mcph) == {{
		"message": "tj-actions/changed-files@v40 has a known vulnerability (GHSA-mcph-m25j-8j63, CVE-2023-51664): tag v40 is in the affected range (before 41). Upgrade to 41 or later",
		"advisories": ["GHSA-mcph-m25j-8j63", "CVE-2023-51664"],
		"job": "build", "step": 1, "line": 10, "uses": "tj-actions/changed-files@v40", "via": [],
	}}
}

test_fixed_and_other_versions_pass if {
	every ref in ["v41", "v44", "v46.0.1", "main"] {
		count(deny_for(fx.action(sprintf("tj-actions/changed-files@%s", [ref])), mcph)) == 0
	}
	count(deny_for(fx.action("acme/other@v1"), mcph)) == 0
}

# A commit pin has no version to compare; only listed commits match.
test_commit_pins if {
	count(deny_for(fx.action("tj-actions/changed-files@2f7c5bfce28377bc069a65ba478de0a74aa0ca32"), mcph)) == 0
	listed := {"actions": {"acme/tool": {"GHSA-x": {
		"advisories": ["GHSA-x"], "summary": "", "all_versions": false,
		"commits": {"1111111111111111111111111111111111111111": true}, "versions": {}, "ranges": [], "sources": [],
	}}}}
	messages(fx.action("acme/tool@1111111111111111111111111111111111111111"), listed) == {"acme/tool@1111111111111111111111111111111111111111 has a known vulnerability (GHSA-x): commit 1111111111111111111111111111111111111111 is affected. No fixed version is known: replace it"}
	count(deny_for(object.union(fx.action("acme/tool@v2"), {"resolved_sha": "1111111111111111111111111111111111111111"}), listed)) == 1
}

test_versions_all_versions_and_last_affected if {
	list := {"actions": {
		"acme/tool": {
			"GHSA-a": {"advisories": ["GHSA-a"], "summary": "", "all_versions": false, "commits": {}, "versions": {"3": true}, "ranges": [], "sources": []},
			"GHSA-b": {"advisories": ["GHSA-b"], "summary": "", "all_versions": false, "commits": {}, "versions": {}, "ranges": [{"introduced": "2.0.0", "last_affected": "2.4.0"}], "sources": []},
		},
		"acme/old": {"GHSA-c": {"advisories": ["GHSA-c"], "summary": "", "all_versions": true, "commits": {}, "versions": {}, "ranges": [], "sources": []}},
	}}
	messages(fx.action("acme/tool@v3"), list) == {"acme/tool@v3 has a known vulnerability (GHSA-a): tag v3 is an affected version. No fixed version is known: replace it"}
	messages(fx.action("acme/tool@v2.1"), list) == {"acme/tool@v2.1 has a known vulnerability (GHSA-b): tag v2.1 is in the affected range (up to 2.4.0). Upgrade to a version after 2.4.0"}
	count(deny_for(fx.action("acme/tool@v2.5.0"), list)) == 0
	messages(fx.action("acme/old@v9"), list) == {"acme/old@v9 has a known vulnerability (GHSA-c): every version of it is affected. No fixed version is known: replace it"}
}

# Each advisory of an action is its own finding, with its own fix.
test_one_finding_per_advisory if {
	list := {"actions": {"acme/tool": {
		"GHSA-a": {"advisories": ["GHSA-a"], "summary": "", "all_versions": false, "commits": {}, "versions": {}, "ranges": [{"introduced": "0", "fixed": "2"}], "sources": []},
		"GHSA-b": {"advisories": ["GHSA-b"], "summary": "", "all_versions": false, "commits": {}, "versions": {}, "ranges": [{"introduced": "1", "fixed": "3"}], "sources": []},
	}}}
	messages(fx.action("acme/tool@v1.5"), list) == {
		"acme/tool@v1.5 has a known vulnerability (GHSA-a): tag v1.5 is in the affected range (before 2). Upgrade to 2 or later",
		"acme/tool@v1.5 has a known vulnerability (GHSA-b): tag v1.5 is in the affected range (before 3). Upgrade to 3 or later",
	}
}

test_overlapping_ranges_of_one_advisory if {
	list := {"actions": {"acme/tool": {"GHSA-a": {
		"advisories": ["GHSA-a"], "summary": "", "all_versions": false, "commits": {}, "versions": {},
		"ranges": [{"introduced": "0", "fixed": "2"}, {"introduced": "1", "last_affected": "1.9"}], "sources": [],
	}}}}
	messages(fx.action("acme/tool@v1.5"), list) == {"acme/tool@v1.5 has a known vulnerability (GHSA-a): tag v1.5 is in the affected range (before 2). Upgrade to 2 or later or a version after 1.9"}
}

test_transitive_use_names_the_chain if {
	use := fx.via(fx.action("tj-actions/changed-files@v35"), ["acme/lint@v2"])
	messages(use, mcph) == {"acme/lint@v2 → tj-actions/changed-files@v35 has a known vulnerability (GHSA-mcph-m25j-8j63, CVE-2023-51664): tag v35 is in the affected range (before 41). Upgrade to 41 or later"}
}

# The built-in list and the additions are both read; neither narrows the other.
test_built_in_and_additions if {
	narrow := {"actions": {"tj-actions/changed-files": {"GHSA-mcph-m25j-8j63": {
		"advisories": ["GHSA-mcph-m25j-8j63"], "summary": "", "all_versions": false, "commits": {}, "versions": {}, "ranges": [], "sources": [],
	}}}}
	count(vulnerable_actions.deny) == 1 with input as fx.patched({"uses": [fx.action("tj-actions/changed-files@v40")]})
		with data.runpolicy.vulnerable as mcph
		with data.runpolicy.vulnerable_additions as narrow
}

# Nothing to report without a list, and the built-in list starts empty.
test_no_list if {
	count(vulnerable_actions.deny) == 0 with input as fx.patched({"uses": [fx.action("tj-actions/changed-files@v40")]})
	count(vulnerable_actions.deny) == 0 with input as fx.doc
}

test_names_ignore_case if {
	count(deny_for(fx.action("TJ-Actions/Changed-Files@v40"), mcph)) == 1
}

test_docker_and_local_are_not_looked_up if {
	count(deny_for(object.union(fx.docker("docker://tj-actions/changed-files:v40"), {"name": "tj-actions/changed-files", "owner": "tj-actions", "repo": "changed-files"}), mcph)) == 0
	count(deny_for(object.union(fx.local("./tj-actions/changed-files"), {"owner": "tj-actions", "repo": "changed-files"}), mcph)) == 0
}
