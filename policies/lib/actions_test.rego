package runpolicy.lib.actions_test

import data.runpolicy.fixtures as fx
import data.runpolicy.lib.actions

test_entry_classes if {
	actions._entry(" Actions/*") == {"block": false, "name": "actions/*", "ref": "", "class": "name"}
	actions._entry("!evil/action@v1") == {"block": true, "name": "evil/action", "ref": "v1", "class": "ref"}
	actions._entry("acme/repo") == {"block": false, "name": "acme/repo", "ref": "", "class": "name"}
	actions._entry("acme/repo@*") == {"block": false, "name": "acme/repo", "ref": "", "class": "name"}
	actions._entry("space-org*/*") == {"block": false, "name": "space-org*/*", "ref": "", "class": "glob"}
	actions._entry("*/octocat**@*") == {"block": false, "name": "*/octocat**", "ref": "", "class": "glob"}
	actions._entry("acme/repo@v1.*") == {"block": false, "name": "acme/repo", "ref": "v1.*", "class": "glob"}
	actions._entry("docker://alpine@sha256:abc") == {"block": false, "name": "docker://alpine@sha256:abc", "ref": "", "class": "name"}
}

test_entry_with_two_refs_is_skipped if {
	not actions._entry("a/b@c@d")
	actions.index(["a/b@c@d", 7]) == actions.index([])
}

test_index if {
	actions.index(["actions/*", "acme/repo", "acme/tool@v1", "space-org*/*", "*-bots/*@*", "acme/repo@v1.*", "!actions/evil", "!bad/*"]) == {
		"allow": {
			"names": {"acme/repo": true, "actions/*": true},
			"refs": {"acme/tool@v1": true},
			"any_ref": "{space-org*/*,*-bots/*}",
			"globs": [["acme/repo", "v1.*"]],
		},
		"block": {
			"names": {"actions/evil": true, "bad/*": true},
			"refs": {},
			"any_ref": "",
			"globs": [],
		},
		"names_only": false,
	}
	actions.index(["actions/*", "acme/repo"]).names_only == true
}

test_alternatives_keep_every_glob_literal_but_the_star if {
	actions._alternatives([]) == ""
	actions._alternatives(["a*"]) == "{a*}"
	actions._alternatives(["a,b*", `c\{d\}*`]) == `{a\,b*,c\{d\}*}`
}

listed(list, use) if actions.listed(actions.index(list).allow, use)

test_listed_by_owner if {
	listed(["actions/*"], fx.action("actions/checkout@v4"))
	listed(["actions/*"], fx.action("Actions/Checkout@v4"))
	listed(["github/*"], fx.action("github/codeql-action/analyze@v3"))
	not listed(["actions/*"], fx.action("actionsx/checkout@v4"))
}

test_listed_by_name_any_ref if {
	listed(["acme/repo"], fx.action("acme/repo@v1"))
	listed(["acme/repo"], fx.action("acme/repo@0e58ed8671d6b60d0890c21b07f8835ace038e67"))
	listed(["acme/repo@*"], fx.action("acme/repo@main"))
	listed(["acme/repo"], fx.action("acme/repo/sub/path@v1")) # a sub-path of a listed repository
	not listed(["acme/repo/sub"], fx.action("acme/repo/other@v1"))
	not listed(["acme/repo"], fx.action("acme/repository@v1"))
}

test_listed_by_name_and_ref if {
	listed(["acme/tool@v1"], fx.action("acme/tool@v1"))
	listed(["acme/tool@V1"], fx.action("acme/tool@v1"))
	not listed(["acme/tool@v1"], fx.action("acme/tool@v2"))
	listed(["acme/wf/.github/workflows/build.yml@main"], fx.action("acme/wf/.github/workflows/build.yml@main"))
	not listed(["acme/wf/.github/workflows/build.yml@main"], fx.action("acme/wf/.github/workflows/other.yml@main"))
}

test_listed_by_glob if {
	listed(["space-org*/*"], fx.action("space-org-blue/rocket@v1"))
	listed(["team-a-*/*", "space-org*/*", "team-b-*/*"], fx.action("space-org-blue/rocket@v1")) # one of several
	not listed(["team-a-*/*", "team-b-*/*"], fx.action("space-org-blue/rocket@v1"))
	listed(["odd,name*/*"], fx.action("odd,name-x/tool@v1")) # a comma stays part of its glob
	not listed(["odd,name*/*"], fx.action("name-x/tool@v1"))
	not listed(["odd,name*/*"], fx.action("odd/tool@v1"))
	listed(["acme/repo@v1.*", "space-org*/*"], fx.action("acme/repo@v1.2.3")) # a ref glob beside the joined ones
	not listed(["space-org*/*"], fx.action("space/rocket@v1"))
	listed(["*/octocat**@*"], fx.action("any/octocat-tools@v3"))
	listed(["acme/repo@v1.*"], fx.action("acme/repo@v1.2.3"))
	not listed(["acme/repo@v1.*"], fx.action("acme/repo@v2.0.0"))
}

test_listed_docker if {
	listed(["docker://alpine"], fx.docker("docker://alpine:3.19"))
	listed(["docker://alpine"], fx.docker("docker://alpine@sha256:1234"))
	listed(["docker://alpine:3.19"], fx.docker("docker://alpine:3.19"))
	not listed(["docker://alpine:3.19"], fx.docker("docker://alpine:3.20"))
	listed(["docker://ghcr.io/acme/*"], fx.docker("docker://ghcr.io/acme/tool:1"))
	listed(["docker://ghcr.io:5000/img"], fx.docker("docker://ghcr.io:5000/img:2"))
	not listed(["docker://ghcr.io/acme/*"], fx.docker("docker://ghcr.io/evil/tool:1"))
	not listed(["actions/*"], fx.docker("docker://actions/runner"))
}

# The normalizer keeps raw as written (GitHub trims it) and lists the
# trimmed, lower-case reference first in names: globs match that.
test_listed_docker_glob_reads_the_trimmed_reference if {
	spaced := object.union(fx.docker("docker://evil/miner:1"), {"raw": " docker://Evil/miner:1\n"})
	listed(["docker://evil/*"], spaced)
	listed(["docker://*/miner*"], spaced)
	not listed(["docker://good/*"], spaced)
}
