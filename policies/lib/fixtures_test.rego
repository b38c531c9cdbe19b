# Fixtures shared by the policy tests: a complete input document and
# builders for its parts. The file name ends in _test.rego, so the built-in
# bundle leaves it out and only `opa test` loads it.
package runpolicy.fixtures

# doc is a complete input document: a push of .github/workflows/ci.yml to
# the default branch of acme/api, one job "build" with a checkout step.
doc := {
	"schema_version": 1,
	"event": {"name": "workflow_run", "action": "requested", "delivery_id": "d-1"},
	"repository": {
		"full_name": "acme/api", "owner": "acme", "name": "api",
		"default_branch": "main", "visibility": "private", "fork": false,
	},
	"run": {
		"id": 1, "attempt": 1, "number": 1, "event": "push",
		"branch": "main", "head_sha": "1111111111111111111111111111111111111111",
		"is_default_branch": true, "actor": "octocat", "triggering_actor": "octocat",
		"head_repository": "acme/api", "from_fork": false, "pull_requests": [],
	},
	"workflow": {
		"path": ".github/workflows/ci.yml", "name": "CI", "triggers": ["push"],
		"sha256": sha_a, "default_branch_sha256": sha_a, "modified": false, "modified_files": [],
		"parse_errors": [], "unmodeled": [],
	},
	"jobs": {"build": job(["ubuntu-latest"], [step(0, checkout)])},
	"uses": [checkout],
	"runner_labels": ["ubuntu-latest"],
	"secrets": {"names": [], "bulk": false, "inherit": false, "refs": []},
	"workflow_job": null,
	"resolution": null,
}

sha_a := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

sha_b := "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

checkout := action("actions/checkout@v4")

# patched returns doc with the top-level keys of patch replaced.
patched(patch) := object.union(object.remove(doc, object.keys(patch)), patch)

# action builds an input.uses entry from "owner/repo[/path]@ref" as it
# appears in step 1 of job build at line 10.
action(raw) := {
	"raw": raw, "kind": kind(name), "name": name,
	"owner": parts[0], "repo": parts[1], "path": concat("/", array.slice(parts, 2, count(parts))),
	"names": names(parts), "ref": ref, "ref_type": ref_type(ref), "pinned": ref_type(ref) == "sha", "resolved_sha": null,
	"job": "build", "step": 1, "line": 10, "source": "step", "via": [],
} if {
	[name, ref] := split(raw, "@")
	parts := split(name, "/")
}

# names are the lower-case names the normalizer lists for an action:
# full name, repository when the action is in a sub-path, owner/*.
names(parts) := [lower(concat("/", parts)), lower(concat("/", [parts[0], parts[1]])), lower(concat("", [parts[0], "/*"]))] if {
	count(parts) > 2
} else := [lower(concat("/", parts)), lower(concat("", [parts[0], "/*"]))]

kind(name) := "reusable_workflow" if contains(name, "/.github/workflows/")

else := "action"

ref_type(ref) := "sha" if regex.match(`^[0-9a-f]{40}$`, ref)

else := "tag_or_branch"

# local builds a local reference such as ./.github/actions/build.
local(path) := {
	"raw": path, "kind": "local", "name": path, "owner": "", "repo": "", "path": path, "names": [],
	"ref": "", "ref_type": "none", "pinned": false, "resolved_sha": null,
	"job": "build", "step": 1, "line": 10, "source": "step", "via": [],
}

# docker builds a docker://image reference.
# As the normalizer does, name is the image without tag or digest and ref
# is the digest, else the tag.
docker(raw) := {
	"raw": raw, "kind": "docker", "name": trim_prefix(docker_image(raw), "docker://"), "owner": "", "repo": "", "path": "",
	"names": array.concat([lower(raw)], [image | image := docker_image(lower(raw)); image != lower(raw)]),
	"ref": docker_ref(raw), "ref_type": docker_ref_type(raw), "pinned": contains(raw, "@sha256:"), "resolved_sha": null,
	"job": "build", "step": 1, "line": 10, "source": "step", "via": [],
}

docker_ref(raw) := split(raw, "@")[1] if contains(raw, "@")

else := trim_prefix(split(raw, docker_image(raw))[1], ":")

docker_ref_type(raw) := "sha" if {
	contains(raw, "@sha256:")
} else := "tag_or_branch" if {
	docker_ref(raw) != ""
} else := "none"

# image builds the docker reference of a job container or service image
# (source "container" or "service") of job build at line 7.
image(raw, source) := object.union(docker(raw), {"step": null, "line": 7, "source": source})

docker_image(raw) := regex.replace(split(raw, "@")[0], `:[^/:]*$`, "")

# via makes a reference transitive: reached through the references in chain.
via(use, chain) := object.union(use, {"via": chain})

# job builds a job running on labels with steps.
job(labels, steps) := {
	"name": "", "line": 5,
	"runs_on": {"labels": labels, "group": null, "dynamic": false, "expression": null, "candidates": candidates(labels)},
	"container": null, "container_dynamic": false, "services": {}, "uses": null, "secrets_inherit": false, "secrets": [],
	"harden_runner": {"present": false, "first_step": false, "step": null, "egress_policy": null, "use_policy_store": false},
	"steps": steps,
}

# candidates are the runners of a job that runs on labels written out.
candidates(labels) := [] if count(labels) == 0

else := [{"labels": labels, "group": null}]

# step builds step index running use (null for a run: step).
step(index, use) := {
	"index": index, "id": "", "name": "", "line": 10 + index, "uses": use, "run": use == null, "with": {},
	"control": "", "parallel_group": null, "background": false, "targets": [],
}
