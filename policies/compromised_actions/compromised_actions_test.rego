package runpolicy.policies.compromised_actions_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.compromised_actions

# deny_for is what the policy denies when the workflow's only reference is use.
deny_for(use) := found if {
	found := compromised_actions.deny with input as fx.patched({"uses": [use]})
}

messages(use) := {v.message | some v in deny_for(use)}

remedy := "Remove it or move to a safe version, and rotate every secret this workflow could read"

test_tag_in_last_affected_range if {
	deny_for(fx.action("tj-actions/changed-files@v44")) == {{
		"message": sprintf("tj-actions/changed-files@v44 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): tag v44 is in the affected range (up to 45.0.7). %s", [remedy]),
		"advisories": ["GHSA-mrrh-fwg8-r2c3", "CVE-2025-30066"],
		"job": "build", "step": 1, "line": 10, "uses": "tj-actions/changed-files@v44", "via": [],
	}}
}

test_last_affected_version_itself if {
	count(deny_for(fx.action("tj-actions/changed-files@v45.0.7"))) == 1
	count(deny_for(fx.action("tj-actions/changed-files@v1"))) == 1
}

test_malicious_commit if {
	messages(fx.action("tj-actions/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67")) == {sprintf("tj-actions/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): commit 0e58ed8671d6b60d0890c21b07f8835ace038e67 is a known malicious commit. %s", [remedy])}
}

test_tag_resolved_to_malicious_commit if {
	use := object.union(fx.action("tj-actions/changed-files@v46"), {"resolved_sha": "0E58ED8671D6B60D0890C21B07F8835ACE038E67"})
	messages(use) == {sprintf("tj-actions/changed-files@v46 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): commit 0e58ed8671d6b60d0890c21b07f8835ace038e67 is a known malicious commit. %s", [remedy])}
}

test_fixed_versions_and_safe_commits_pass if {
	count(deny_for(fx.action("tj-actions/changed-files@v46.0.1"))) == 0
	count(deny_for(fx.action("tj-actions/changed-files@v47.0.5"))) == 0
	count(deny_for(fx.action("tj-actions/changed-files@main"))) == 0

	# 22103cc4 is v47.0.5, released after the incident; a public issue wrongly called it compromised.
	count(deny_for(fx.action("tj-actions/changed-files@22103cc46bda19c2b464ffe86db46df6922fd323"))) == 0
	count(deny_for(object.union(fx.action("tj-actions/changed-files@v47.0.5"), {"resolved_sha": "22103cc46bda19c2b464ffe86db46df6922fd323"}))) == 0
}

test_transitive_use_names_the_chain if {
	use := fx.via(fx.action("reviewdog/action-setup@v1"), ["acme/lint@v2", "acme/setup@v1"])
	deny_for(use) == {{
		"message": sprintf("acme/lint@v2 → acme/setup@v1 → reviewdog/action-setup@v1 is compromised (GHSA-qmg3-hpqr-gqvc, CVE-2025-30154): tag v1 is an affected version. %s", [remedy]),
		"advisories": ["GHSA-qmg3-hpqr-gqvc", "CVE-2025-30154"],
		"job": "build", "step": 1, "line": 10, "uses": "reviewdog/action-setup@v1", "via": ["acme/lint@v2", "acme/setup@v1"],
	}}
}

# The normalizer reads @refs/heads/v1 and @refs/tags/v1 as ref v1; the
# message names a branch as a branch.
test_qualified_refs_are_named_as_written if {
	branch := object.union(fx.action("reviewdog/action-setup@v1"), {"raw": "reviewdog/action-setup@refs/heads/v1"})
	{v.message | some v in deny_for(branch)} == {sprintf("reviewdog/action-setup@refs/heads/v1 is compromised (GHSA-qmg3-hpqr-gqvc, CVE-2025-30154): branch v1 is an affected version. %s", [remedy])}
	tag := object.union(fx.action("tj-actions/changed-files@v44"), {"raw": "tj-actions/changed-files@refs/tags/v44"})
	{v.message | some v in deny_for(tag)} == {sprintf("tj-actions/changed-files@refs/tags/v44 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): tag v44 is in the affected range (up to 45.0.7). %s", [remedy])}
}

test_affected_version_spellings if {
	count(deny_for(fx.action("reviewdog/action-setup@1"))) == 1
	count(deny_for(fx.action("reviewdog/action-setup@v2"))) == 0
	count(deny_for(fx.action("reviewdog/action-setup@3f401fe1d58fe77e10d665ab713057375e39b887"))) == 0
	count(deny_for(fx.action("reviewdog/action-setup@f0d342d24037bb11d26b9bd8496e0808ba32e9ec"))) == 1
}

test_advisory_versions_without_v_match_tags_with_v if {
	count(deny_for(fx.action("acme/tool@v3"))) == 1 with data.runpolicy.compromised.actions["acme/tool"] as {
		"advisories": ["GHSA-test"], "summary": "", "all_versions": false,
		"commits": {}, "versions": {"3": true}, "ranges": [],
	}
}

test_every_version_of_actions_that_called_action_setup if {
	every name in ["action-shellcheck", "action-composite-template", "action-staticcheck", "action-ast-grep", "action-typos"] {
		use := fx.action(sprintf("reviewdog/%s@3f401fe1d58fe77e10d665ab713057375e39b887", [name]))
		messages(use) == {sprintf("%s is compromised (GHSA-qmg3-hpqr-gqvc, CVE-2025-30154): every version of it is affected. %s", [use.raw, remedy])}
	}
}

test_trivy_action if {
	messages(fx.action("aquasecurity/trivy-action@0.34.2")) == {sprintf("aquasecurity/trivy-action@0.34.2 is compromised (GHSA-69fq-xp46-6x23, CVE-2026-33634): tag 0.34.2 is in the affected range (before 0.35.0). %s", [remedy])}
	count(deny_for(fx.action("aquasecurity/trivy-action@v0.35.0"))) == 0
	count(deny_for(fx.action("aquasecurity/trivy-action@57a97c7e7821a5776cebc9bb87c984fa69cba8f1"))) == 0 # v0.35.0
}

# The imposter commits the tags were moved to, each named by a source in
# data.json: pinned, or reached through a tag the resolver looked up.
test_trivy_action_imposter_commits if {
	every sha in [
		"ddb9da4475c1cef7d5389062bdfdfbdbd1394648", # 0.34.2, aquasecurity/trivy-action#541
		"e0198fd2b6e1679e36d32933941182d9afa82f6f", # 0.24.0
		"91e7c2c36dcad14149d8e455b960af62a2ffb275", # 0.33.1
	] {
		messages(fx.action(sprintf("aquasecurity/trivy-action@%s", [sha]))) == {sprintf("aquasecurity/trivy-action@%s is compromised (GHSA-69fq-xp46-6x23, CVE-2026-33634): commit %s is a known malicious commit. %s", [sha, sha, remedy])}
	}
	count(deny_for(object.union(fx.action("aquasecurity/trivy-action@v0.24.0"), {"resolved_sha": "e0198fd2b6e1679e36d32933941182d9afa82f6f"}))) == 1
}

test_setup_trivy if {
	count(deny_for(fx.action("aquasecurity/setup-trivy@v0.2.5"))) == 1
	count(deny_for(fx.action("aquasecurity/setup-trivy@v0.2.6"))) == 0
	count(deny_for(fx.action("aquasecurity/setup-trivy@8afa9b9f9183b4e00c46e2b82d34047e3c177bd0"))) == 1 # fluent/fluent-bit#11594
	count(deny_for(fx.action("aquasecurity/setup-trivy@3fb12ec12f41e471780db15c232d5dd185dcb514"))) == 0 # v0.2.6 re-created safe
}

# e6c2c5e3 is an ordinary commit of setup-trivy's main branch (2025-08-29)
# that trivy-action v0.35.0, the advisory's fix, pins: listing it would
# block the remedy.
test_setup_trivy_commit_pinned_by_the_fixed_trivy_action if {
	count(deny_for(fx.action("aquasecurity/setup-trivy@e6c2c5e321ed9123bda567646e2f96565e34abe1"))) == 0
	use := fx.via(fx.action("aquasecurity/setup-trivy@e6c2c5e321ed9123bda567646e2f96565e34abe1"), ["aquasecurity/trivy-action@v0.35.0"])
	count(deny_for(use)) == 0
}

test_test_action_without_advisory if {
	messages(fx.action("step-security/dummy-compromised-action@v1")) == {sprintf("step-security/dummy-compromised-action@v1 is compromised (no advisory): every version of it is affected. %s", [remedy])}
}

test_names_ignore_case if {
	count(deny_for(fx.action("TJ-Actions/Changed-Files@v44"))) == 1
}

test_sub_path_of_a_listed_repository if {
	count(deny_for(fx.action("reviewdog/action-typos/sub@v1"))) == 1
}

test_reusable_workflow if {
	count(deny_for(fx.action("reviewdog/action-typos/.github/workflows/x.yml@v1"))) == 1
}

test_docker_and_local_are_not_looked_up if {
	count(deny_for(object.union(fx.docker("docker://tj-actions/changed-files:v44"), {"name": "tj-actions/changed-files", "owner": "tj-actions", "repo": "changed-files"}))) == 0
	count(deny_for(object.union(fx.local("./tj-actions/changed-files"), {"owner": "tj-actions", "repo": "changed-files"}))) == 0
}

test_malicious_commit_under_another_name if {
	messages(fx.action("fork/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67")) == {sprintf("fork/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): commit 0e58ed8671d6b60d0890c21b07f8835ace038e67 is a known malicious commit of tj-actions/changed-files. %s", [remedy])}
}

test_one_violation_per_reference if {
	uses := [fx.action("tj-actions/changed-files@v44"), object.union(fx.action("tj-actions/changed-files@v44"), {"line": 20, "step": 2})]
	count(compromised_actions.deny) == 2 with input as fx.patched({"uses": uses})
}

# A list without commits, only actions, still names them.
test_list_without_commits if {
	count(deny_for(fx.action("acme/tool@v3"))) == 1 with data.runpolicy.compromised as {"actions": {"acme/tool": {
		"advisories": ["GHSA-test"], "summary": "", "all_versions": true,
		"commits": {}, "versions": {}, "ranges": [],
	}}}
}

# Additions sit beside the built-in list: an addition naming a built-in
# action, with a narrower range or fewer commits, cannot narrow it.
narrow := {"actions": {"tj-actions/changed-files": {
	"advisories": ["GHSA-other"], "summary": "an unrelated advisory", "all_versions": false,
	"commits": {}, "versions": {}, "ranges": [{"introduced": "0", "fixed": "41"}], "sources": [],
}}}

test_addition_for_a_listed_action_cannot_narrow_it if {
	messages(fx.action("tj-actions/changed-files@v44")) == {sprintf("tj-actions/changed-files@v44 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): tag v44 is in the affected range (up to 45.0.7). %s", [remedy])} with data.runpolicy.compromised_additions as narrow
	count(deny_for(fx.action("tj-actions/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67"))) == 1 with data.runpolicy.compromised_additions as narrow
}

# A reference both lists match, or two ranges of one entry match, gets one
# finding: the built-in entry's, and its first range.
test_reference_matching_both_lists if {
	overlap := {"actions": {"tj-actions/changed-files": {
		"advisories": ["GHSA-mrrh-fwg8-r2c3", "GHSA-other"], "summary": "", "all_versions": false,
		"commits": {}, "versions": {}, "ranges": [{"introduced": "0", "fixed": "41"}, {"introduced": "0", "last_affected": "45.0.7"}], "sources": [],
	}}}
	messages(fx.action("tj-actions/changed-files@v40")) == {sprintf("tj-actions/changed-files@v40 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): tag v40 is in the affected range (up to 45.0.7). %s", [remedy])} with data.runpolicy.compromised_additions as overlap
	messages(fx.action("tj-actions/changed-files@v40")) == {sprintf("tj-actions/changed-files@v40 is compromised (GHSA-mrrh-fwg8-r2c3, GHSA-other): tag v40 is in the affected range (before 41). %s", [remedy])} with data.runpolicy.compromised as {}
		with data.runpolicy.compromised_additions as overlap
	count(deny_for(fx.action("fork/changed-files@0e58ed8671d6b60d0890c21b07f8835ace038e67"))) == 1 with data.runpolicy.compromised_additions as data.runpolicy.compromised
}

test_addition_adds_to_a_listed_action if {
	messages(fx.action("tj-actions/changed-files@v47.0.5")) == {sprintf("tj-actions/changed-files@v47.0.5 is compromised (GHSA-more): tag v47.0.5 is an affected version. %s", [remedy])} with data.runpolicy.compromised_additions as {"actions": {"tj-actions/changed-files": {
		"advisories": ["GHSA-more"], "summary": "", "all_versions": false,
		"commits": {}, "versions": {"47.0.5": true}, "ranges": [], "sources": [],
	}}}
}

test_addition_of_a_new_action_and_commit if {
	added := {
		"actions": {"acme/evil": {
			"advisories": ["MAL-1"], "summary": "", "all_versions": false,
			"commits": {"1111111111111111111111111111111111111111": true}, "versions": {}, "ranges": [], "sources": [],
		}},
		"commits": {"1111111111111111111111111111111111111111": "acme/evil"},
	}
	count(deny_for(fx.action("acme/evil@1111111111111111111111111111111111111111"))) == 1 with data.runpolicy.compromised_additions as added
	messages(fx.action("fork/evil@1111111111111111111111111111111111111111")) == {sprintf("fork/evil@1111111111111111111111111111111111111111 is compromised (MAL-1): commit 1111111111111111111111111111111111111111 is a known malicious commit of acme/evil. %s", [remedy])} with data.runpolicy.compromised_additions as added
	count(deny_for(fx.action("acme/evil@v1"))) == 0 with data.runpolicy.compromised_additions as added
}

# An addition's commit index may point at a built-in entry.
test_addition_commit_of_a_built_in_action if {
	count(deny_for(fx.action("fork/changed-files@2222222222222222222222222222222222222222"))) == 1 with data.runpolicy.compromised_additions as {"commits": {"2222222222222222222222222222222222222222": "tj-actions/changed-files"}}
}

test_clean_workflow if {
	count(compromised_actions.deny) == 0 with input as fx.doc
	count(compromised_actions.warn) == 0 with input as fx.doc
}

# References the resolver could not look inside.

unresolved := object.union(fx.action("acme/private@v1"), {"unresolved": "repository not found or private"})

unresolved_message := "could not look inside acme/private@v1 (repository not found or private): the actions it calls were not checked against the compromised list"

limits := fx.patched({"resolution": {"complete": false, "fetches": 50, "limits": ["depth"]}})

limit_message := "stopped following action references at the depth limit: deeper actions were not checked against the compromised list"

test_unresolved_warns_by_default if {
	compromised_actions.warn == {data.runpolicy.lib.finding(unresolved, unresolved_message)} with input as fx.patched({"uses": [unresolved]})
	count(compromised_actions.deny) == 0 with input as fx.patched({"uses": [unresolved]})
	compromised_actions.warn == {{"message": limit_message}} with input as limits
	count(compromised_actions.deny) == 0 with input as limits
}

test_unresolved_denies_with_block_unresolved if {
	{v.message | some v in compromised_actions.deny} == {unresolved_message} with input as fx.patched({"uses": [unresolved]})
		with data.runpolicy.settings.compromised_actions.block_unresolved as true
	count(compromised_actions.warn) == 0 with input as fx.patched({"uses": [unresolved]})
		with data.runpolicy.settings.compromised_actions.block_unresolved as true
	compromised_actions.deny == {{"message": limit_message}} with input as limits
		with data.runpolicy.settings.compromised_actions.block_unresolved as true
}

# A job container or service image is looked up by its names like any
# docker reference.
test_container_image_on_the_list if {
	list := {"docker://evil/miner": {"advisories": [], "summary": "", "all_versions": true, "commits": {}, "versions": {}, "ranges": []}}
	deny_for(fx.image("docker://evil/miner:1", "container")) == {{
		"message": sprintf("docker://evil/miner:1 is compromised (no advisory): every version of it is affected. %s", [remedy]),
		"advisories": [],
		"job": "build", "line": 7, "uses": "docker://evil/miner:1", "via": [],
	}} with data.runpolicy.compromised.actions as list
}
