package runpolicy.policies.allowed_actions_test

import data.runpolicy.fixtures as fx
import data.runpolicy.lib
import data.runpolicy.lib.actions
import data.runpolicy.policies.allowed_actions

# deny_for is what the policy denies when the workflow's references are uses.
deny_for(uses) := found if {
	found := allowed_actions.deny with input as fx.patched({"uses": uses})
}

messages(uses) := {v.message | some v in deny_for(uses)}

not_allowed(raw) := sprintf("%s is not on the allowed list: add it to allowed_actions.allow or replace it", [raw])

test_default_list if {
	count(deny_for([
		fx.action("actions/checkout@v4"),
		fx.action("github/codeql-action/analyze@v3"),
		fx.action("step-security/harden-runner@v2"),
	])) == 0
}

test_reference_not_on_the_list if {
	deny_for([fx.action("evil/action@v1")]) == {{
		"message": "evil/action@v1 is not on the allowed list: add it to allowed_actions.allow or replace it",
		"job": "build", "step": 1, "line": 10, "uses": "evil/action@v1", "via": [],
	}}
}

# deny writes its findings' location out instead of calling lib.finding:
# it must be lib.finding's object, with and without via and step.
test_findings_locate_references_as_lib_finding_does if {
	uses := [
		fx.action("evil/action@v1"),
		fx.via(fx.action("evil/setup@v1"), ["acme/lint@v2"]),
		object.union(fx.action("evil/wf/.github/workflows/x.yml@v1"), {"step": null}),
	]
	found := deny_for(uses)
	count(found) == 3
	every use in uses {
		some f in found
		f.uses == use.raw
		f == lib.finding(use, not_allowed(lib.chain(use)))
	}
}

test_one_violation_per_reference if {
	uses := [fx.action("evil/action@v1"), object.union(fx.action("evil/action@v1"), {"step": 3, "line": 30}), fx.action("actions/checkout@v4")]
	{[v.line, v.step] | some v in deny_for(uses)} == {[10, 1], [30, 3]}
}

test_allow_list_syntax if {
	allow := ["acme/*", "tools/lint", "tools/fmt@v2", "space-org*/*", "shared/wf/.github/workflows/ci.yml@main"]
	messages([
		fx.action("acme/anything@v1"),
		fx.action("tools/lint@main"),
		fx.action("tools/fmt@v2"),
		fx.action("tools/fmt@v3"),
		fx.action("space-org-7/rocket@v1"),
		fx.action("shared/wf/.github/workflows/ci.yml@main"),
		fx.action("shared/wf/.github/workflows/ci.yml@dev"),
	]) == {not_allowed("tools/fmt@v3"), not_allowed("shared/wf/.github/workflows/ci.yml@dev")} with data.runpolicy.settings.allowed_actions.allow as allow
}

test_block_entries_win if {
	allow := ["acme/*", "!acme/evil", "!*/bad-*@v1"]
	messages([fx.action("acme/good@v1"), fx.action("acme/evil@v1"), fx.action("acme/bad-thing@v1"), fx.action("acme/bad-thing@v2")]) == {
		"acme/evil@v1 is blocked by allowed_actions.allow: replace it",
		"acme/bad-thing@v1 is blocked by allowed_actions.allow: replace it",
	} with data.runpolicy.settings.allowed_actions.allow as allow
}

test_blocked_reference_not_otherwise_allowed_gets_one_violation if {
	messages([fx.action("evil/x@v1")]) == {"evil/x@v1 is blocked by allowed_actions.allow: replace it"} with data.runpolicy.settings.allowed_actions.allow as ["!evil/*"]
}

test_local_actions if {
	count(deny_for([fx.local("./.github/actions/build")])) == 0
	deny_for([fx.local("./.github/actions/build")]) == {{
		"message": "./.github/actions/build is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
		"job": "build", "step": 1, "line": 10, "uses": "./.github/actions/build", "via": [],
	}} with data.runpolicy.settings.allowed_actions.allow_local as false
}

# A self-repository reference ($/path) is local too: allow_local governs it.
test_self_repository_references_are_local if {
	self := object.union(fx.local("$/.github/actions/build"), {"path": ".github/actions/build", "pinned": true})
	count(deny_for([self])) == 0
	deny_for([self]) == {{
		"message": "$/.github/actions/build is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
		"job": "build", "step": 1, "line": 10, "uses": "$/.github/actions/build", "via": [],
	}} with data.runpolicy.settings.allowed_actions.allow_local as false
	call := object.union(self, {"raw": "$/.github/workflows/ci.yml", "name": "$/.github/workflows/ci.yml", "path": ".github/workflows/ci.yml", "step": null})
	messages([call]) == {"$/.github/workflows/ci.yml is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository"} with data.runpolicy.settings.allowed_actions.allow_local as false
}

# allow_local is tested as a bare ref would be: unset denies like false.
test_allow_local_unset_denies_local_references if {
	messages([fx.local("./x")]) == {"./x is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository"} with data.runpolicy.settings as {"allowed_actions": {"allow": ["actions/*"]}}
}

# A job-level `uses: ./.github/workflows/x.yml` is a local reusable workflow:
# the normalizer gives it kind local and no step, and allow_local covers it.
test_local_reusable_workflow if {
	call := object.union(fx.local("./.github/workflows/test.yml"), {"step": null})
	count(deny_for([call])) == 0
	deny_for([call]) == {{
		"message": "./.github/workflows/test.yml is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
		"job": "build", "line": 10, "uses": "./.github/workflows/test.yml", "via": [],
	}} with data.runpolicy.settings.allowed_actions.allow_local as false
}

test_local_path_inside_another_action_belongs_to_it if {
	count(deny_for([fx.via(fx.local("./sub"), ["actions/thing@v1"])])) == 0 with data.runpolicy.settings.allowed_actions.allow_local as false
}

test_docker_images if {
	messages([fx.docker("docker://alpine:3.19"), fx.docker("docker://ghcr.io/acme/tool:1"), fx.docker("docker://evil/img:1")]) == {not_allowed("docker://evil/img:1")} with data.runpolicy.settings.allowed_actions.allow as ["docker://alpine", "docker://ghcr.io/acme/*"]
}

test_transitive_references_name_the_chain if {
	use := fx.via(fx.action("evil/action@v1"), ["acme/lint@v2"])
	messages([use]) == {"acme/lint@v2 → evil/action@v1 is not on the allowed list: add it to allowed_actions.allow or replace it"} with data.runpolicy.settings.allowed_actions.allow as ["acme/*"]
}

test_include_transitive_false_judges_direct_references_only if {
	uses := [fx.via(fx.action("evil/action@v1"), ["acme/lint@v2"]), fx.action("evil/direct@v1")]
	messages(uses) == {not_allowed("evil/direct@v1")} with data.runpolicy.settings.allowed_actions.include_transitive as false
}

# Pinning.

sha := "0123456789abcdef0123456789abcdef01234567"

pinning_message(raw, name, ref) := sprintf("%s is not pinned to a full commit SHA: pin it (%s@<40-hex SHA> # %s) or add it to allowed_actions.pinning_exempt", [raw, name, ref])

test_pinning_not_required_by_default if {
	count(deny_for([fx.action("actions/checkout@v4")])) == 0
}

test_pinning_required if {
	messages([fx.action("actions/checkout@v4"), fx.action(sprintf("actions/setup-go@%s", [sha]))]) == {pinning_message("actions/checkout@v4", "actions/checkout", "v4")} with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
}

test_pinning_of_transitive_references if {
	use := fx.via(fx.action("actions/cache@v4"), [sprintf("acme/build@%s", [sha])])
	messages([use]) == {pinning_message(sprintf("acme/build@%s → actions/cache@v4", [sha]), "actions/cache", "v4")} with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
		with data.runpolicy.settings.allowed_actions.allow as ["acme/*", "actions/*"]
}

test_pinning_exempt if {
	count(deny_for([fx.action("actions/checkout@v4"), fx.action("github/codeql-action/init@v3")])) == 0 with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
		with data.runpolicy.settings.allowed_actions.pinning_exempt as ["actions/*", "github/codeql-action"]
}

# A "!" entry takes the exemption back, whatever the order of the entries.
test_pinning_exempt_honours_blocks if {
	uses := [fx.action("actions/checkout@v4"), fx.action("actions/cache@v4"), fx.action("github/codeql-action/init@v3")]
	every case in [
		[["actions/*", "!actions/cache"], {"actions/cache@v4", "github/codeql-action/init@v3"}],
		[["!actions/cache", "actions/*"], {"actions/cache@v4", "github/codeql-action/init@v3"}],
		[["actions/*", "github/*", "!*@v4"], {"actions/checkout@v4", "actions/cache@v4"}],
		[["!actions/*"], {"actions/checkout@v4", "actions/cache@v4", "github/codeql-action/init@v3"}],
		[["*/*", "!github/codeql-action/*"], {"github/codeql-action/init@v3"}],
	] {
		[exempt, unpinned] := case
		{f.uses | some f in deny_for(uses)} == unpinned with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
			with data.runpolicy.settings.allowed_actions.pinning_exempt as exempt
	}
}

test_pinning_skips_local_docker_digests_and_unallowed if {
	uses := [fx.local("./x"), fx.docker("docker://alpine@sha256:0123"), fx.action("evil/x@v1")]
	messages(uses) == {not_allowed("evil/x@v1")} with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
		with data.runpolicy.settings.allowed_actions.allow as ["docker://alpine"]
}

test_repository_override if {
	doc := fx.patched({"uses": [fx.action("legacy/tool@v1")], "repository": object.union(fx.doc.repository, {"full_name": "acme/legacy-app"})})
	count(allowed_actions.deny) == 1 with input as doc
	count(allowed_actions.deny) == 0 with input as doc
		with data.runpolicy.settings.repositories as {"acme/legacy-*": {"allowed_actions": {"allow": ["legacy/*"]}}}
}

test_prepared_index_is_used if {
	prepared := {"lists": {"allowed_actions": {"allow": {"": {
		"allow": {"names": {"engine/listed": true}, "refs": {}, "any_ref": "", "globs": []},
		"block": {"names": {}, "refs": {}, "any_ref": "", "globs": []},
	}}}}}
	messages([fx.action("engine/listed@v1"), fx.action("actions/checkout@v4")]) == {not_allowed("actions/checkout@v4")} with data.internal.runpolicy.prepared as prepared
}

# A list of names only is judged by the references' names alone; any other
# entry takes the general path.
test_names_only_lists if {
	every list in [data.runpolicy.settings.allowed_actions.allow, ["acme/*", "tools/lint", "acme/repo@*", "docker://alpine"], []] {
		actions.index(list).names_only == true
	}
	every list in [["acme/*", "tools/fmt@v2"], ["acme/*", "space-org*/*"], ["acme/*", "!acme/evil"]] {
		actions.index(list).names_only == false
	}
}

# Both paths reach the same findings.
test_names_only_and_general_lists_agree if {
	uses := [
		fx.action("acme/tool@v1"),
		fx.action("Acme/Other/sub@v2"),
		fx.action("evil/action@v1"),
		fx.via(fx.action("evil/deep@v1"), ["acme/tool@v1"]),
		object.union(fx.action("evil/wf/.github/workflows/x.yml@v1"), {"step": null}),
		fx.docker("docker://alpine:3.19"),
		fx.docker("docker://evil/img:1"),
		fx.local("./.github/actions/build"),
	]
	names := ["acme/*", "docker://alpine"]
	expected := deny_for(uses) with data.runpolicy.settings.allowed_actions.allow as names
	{f.uses | some f in expected} == {"evil/action@v1", "evil/deep@v1", "evil/wf/.github/workflows/x.yml@v1", "docker://evil/img:1"}

	# an entry that lists none of the references makes the list general
	deny_for(uses) == expected with data.runpolicy.settings.allowed_actions.allow as array.concat(names, ["none/x@v0"])
	deny_for(uses) == expected with data.runpolicy.settings.allowed_actions.allow as array.concat(names, ["!none/*"])
}

# Local references are judged by allow_local only, never by the list's
# patterns: "*" matches a local path too.
test_list_does_not_judge_local_references if {
	uses := [fx.local("./.github/actions/build"), fx.action("acme/x@v1")]
	messages(uses) == {"acme/x@v1 is blocked by allowed_actions.allow: replace it"} with data.runpolicy.settings.allowed_actions.allow as ["!*"]
	messages(uses) == {pinning_message("acme/x@v1", "acme/x", "v1")} with data.runpolicy.settings.allowed_actions.allow as ["*"]
		with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
}

test_include_transitive_false_with_a_general_list if {
	uses := [fx.via(fx.action("evil/action@v1"), ["acme/lint@v2"]), fx.action("evil/direct@v1"), fx.action("acme/bad@v1")]
	messages(uses) == {not_allowed("evil/direct@v1"), "acme/bad@v1 is blocked by allowed_actions.allow: replace it"} with data.runpolicy.settings.allowed_actions.include_transitive as false
		with data.runpolicy.settings.allowed_actions.allow as ["acme/*", "!acme/bad"]
}

# Job containers and services are docker references too, without a step.
test_container_and_service_images if {
	uses := [fx.image("docker://node:18", "container"), fx.image("docker://redis:7", "service"), fx.image("docker://ghcr.io/acme/db:1", "service")]
	deny_for(uses) == {{
		"job": "build", "line": 7, "uses": "docker://redis:7", "via": [],
		"message": not_allowed("service image docker://redis:7"),
	}} with data.runpolicy.settings.allowed_actions.allow as ["docker://node", "docker://ghcr.io/acme/*"]
	{f.uses | some f in deny_for(uses)} == {"docker://node:18"} with data.runpolicy.settings.allowed_actions.allow as ["docker://*", "!docker://node:18"]
}

docker_pinning_message(raw, name) := sprintf("%s is not pinned to an image digest: pin it by digest (docker://%s@sha256:<digest>) or add it to allowed_actions.pinning_exempt", [raw, name])

test_docker_images_are_pinned_by_digest if {
	uses := [
		fx.image("docker://node:18", "container"),
		fx.image("docker://ghcr.io/acme/db", "service"),
		fx.docker("docker://alpine:3.19"),
		fx.image("docker://redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "service"),
	]
	messages(uses) == {
		docker_pinning_message("container image docker://node:18", "node"),
		docker_pinning_message("service image docker://ghcr.io/acme/db", "ghcr.io/acme/db"),
		docker_pinning_message("docker://alpine:3.19", "alpine"),
	} with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
		with data.runpolicy.settings.allowed_actions.allow as ["docker://*"]
	messages(uses) == {docker_pinning_message("docker://alpine:3.19", "alpine")} with data.runpolicy.settings.allowed_actions.require_sha_pinning as true
		with data.runpolicy.settings.allowed_actions.allow as ["docker://*"]
		with data.runpolicy.settings.allowed_actions.pinning_exempt as ["docker://node", "docker://ghcr.io/*"]
}

# An image of a called reusable workflow names the chain that led to it.
test_transitive_image_names_the_chain if {
	use := fx.via(fx.image("docker://evil/img:1", "container"), ["acme/wf/.github/workflows/build.yml@v1"])
	messages([use]) == {not_allowed("acme/wf/.github/workflows/build.yml@v1 → container image docker://evil/img:1")} with data.runpolicy.settings.allowed_actions.allow as ["acme/*"]
}

test_images_chosen_at_run_time_warn if {
	job := object.union(fx.job(["ubuntu-latest"], []), {
		"container": "${{ inputs.image }}", "container_dynamic": true,
		"services": {
			"cache": {"image": "${{ inputs.cache }}", "line": 12, "dynamic": true},
			"db": {"image": "postgres:16", "line": 14, "dynamic": false},
		},
	})
	allowed_actions.warn == {
		{"job": "build", "line": 5, "message": "job build runs container image ${{ inputs.image }}, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix"},
		{"job": "build", "line": 12, "message": "job build runs service cache from image ${{ inputs.cache }}, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix"},
	} with input as fx.patched({"jobs": {"build": job}, "uses": []})
	count(allowed_actions.warn) == 0 with input as fx.doc
}
