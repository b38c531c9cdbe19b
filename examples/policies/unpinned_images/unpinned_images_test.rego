package runpolicy.policies.unpinned_images_test

import data.runpolicy.policies.unpinned_images

# Only the fields the policy reads, in the input document's shape.
workflow(uses) := {"uses": uses, "jobs": {"test": {"line": 5, "container_dynamic": false, "services": {}}}}

image(source, raw, name, pinned) := {"job": "test", "line": 9, "source": source, "raw": raw, "name": name, "pinned": pinned}

test_unpinned_service if {
	unpinned_images.deny == {{
		"job": "test", "line": 9, "uses": "docker://postgres:16",
		"message": "job test runs service image postgres:16, which is not pinned to a digest: whoever can push that tag decides what runs beside the job. Pin it (postgres:16@sha256:<digest>; docker buildx imagetools inspect postgres:16 prints it)",
	}} with input as workflow([image("service", "docker://postgres:16", "postgres", false)])
}

test_unpinned_container if {
	some finding in unpinned_images.deny with input as workflow([image("container", "docker://node", "node", false)])
	startswith(finding.message, "job test runs in container node, which is not pinned")
}

test_pinned_and_other_references_pass if {
	digest := "sha256:ffc6f3567654f9431456d49fd059dfe548f007c494a7eb6cd5a1a3e50d813fb3"
	every use in [
		image("container", concat("@", ["docker://returntocorp/semgrep", digest]), "returntocorp/semgrep", true),
		image("service", concat("@", ["docker://redis:7", digest]), "redis", true),
		image("step", "docker://alpine:3", "alpine", false), # allowed_actions' business
		image("step", "actions/checkout@v4", "actions/checkout", false),
	] {
		count(unpinned_images.deny) == 0 with input as workflow([use])
	}
}

test_exempt_images if {
	uses := [
		image("service", "docker://ghcr.io/acme/db:1", "ghcr.io/acme/db", false),
		image("service", "docker://postgres:16", "postgres", false),
		image("container", "docker://Node:20", "Node", false),
	]
	{f.uses | some f in unpinned_images.deny} == {"docker://postgres:16"} with input as workflow(uses)
		with data.runpolicy.settings.unpinned_images.exempt_images as ["ghcr.io/acme/*", "node"]
}

test_images_chosen_at_run_time_warn if {
	dynamic_container := {"jobs": {"test": {"line": 5, "container_dynamic": true, "services": {}}}, "uses": []}
	unpinned_images.warn == {{
		"job": "test", "line": 5,
		"message": "job test chooses a container or service image at run time (an expression): unpinned_images cannot judge it from the file",
	}} with input as dynamic_container
	dynamic_service := {"jobs": {"test": {"line": 5, "container_dynamic": false, "services": {"${{ inputs.services }}": {"image": "", "line": 7, "dynamic": true}}}}, "uses": []}
	count(unpinned_images.warn) == 1 with input as dynamic_service
	count(unpinned_images.warn) == 0 with input as workflow([])
}
