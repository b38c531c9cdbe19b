package runpolicy.policies.impostor_commits_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.impostor_commits

fork_sha := "a81bbbf8298c0fa03ea29cdc473d45769f953675"

pinned := fx.action(concat("@", ["actions/checkout", fork_sha]))

deny_for(uses) := found if {
	found := impostor_commits.deny with input as fx.patched({"uses": uses})
}

warn_for(uses) := found if {
	found := impostor_commits.warn with input as fx.patched({"uses": uses})
}

test_verdicts if {
	cases := [
		# [the use, denied, warned]
		[object.union(pinned, {"impostor": true}), 1, 0],
		[object.union(pinned, {"impostor": false}), 0, 0],
		[pinned, 0, 0], # not checked: no resolver, or not pinned
		[object.union(pinned, {"impostor_unverified": "cap of 50 API calls"}), 0, 1],
	]
	every c in cases {
		count(deny_for([c[0]])) == c[1]
		count(warn_for([c[0]])) == c[2]
	}
}

test_impostor_message if {
	deny_for([object.union(pinned, {"impostor": true})]) == {{
		"message": sprintf("actions/checkout@%s is pinned to commit %s, which is on no branch and no tag of actions/checkout: it comes from a fork (an impostor commit) and runs code the repository never published. Pin a commit of actions/checkout itself", [fork_sha, fork_sha]),
		"job": "build", "step": 1, "line": 10, "uses": concat("@", ["actions/checkout", fork_sha]), "via": [],
	}}
}

test_impostor_tag_object_names_its_commit if {
	tag_sha := "9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6"
	use := object.union(fx.action(concat("@", ["actions/checkout", tag_sha])), {"impostor": true, "resolved_sha": fork_sha})
	some v in deny_for([use])
	startswith(v.message, sprintf("actions/checkout@%s is pinned to annotated tag object %s of commit %s, which is on no branch and no tag of actions/checkout", [tag_sha, tag_sha, fork_sha]))
}

test_transitive_impostor_names_the_chain if {
	use := fx.via(object.union(pinned, {"impostor": true}), ["acme/lint@v2"])
	some v in deny_for([use])
	startswith(v.message, concat("", ["acme/lint@v2 → actions/checkout@", fork_sha, " is pinned"]))
}

test_unverified_is_denied_with_block_unverified if {
	use := object.union(pinned, {"impostor_unverified": "listing the branches of actions/checkout: not found"})
	found := impostor_commits.deny with input as fx.patched({"uses": [use]})
		with data.runpolicy.settings.impostor_commits.block_unverified as true
	some v in found
	contains(v.message, "could not verify that actions/checkout@")
	contains(v.message, "listing the branches")
	warned := impostor_commits.warn with input as fx.patched({"uses": [use]})
		with data.runpolicy.settings.impostor_commits.block_unverified as true
	count(warned) == 0
}
