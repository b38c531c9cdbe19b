# METADATA
# title: Unpinned container images
# description: |-
#   Denies a job container or service image that is not pinned to a digest
#   (image@sha256:…). A tag such as postgres:16 or node:latest is whatever
#   its publisher, or whoever took over the registry account, pushed last;
#   the job runs it with the job's network, files and secrets in reach. An
#   image an expression decides at run time gets a warning: it cannot be
#   judged from the file.
# related_resources:
#   - description: GitHub, running jobs in a container
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/running-jobs-in-a-container
#   - description: poutine, unpinned images (pinning docker:// and image references)
#     ref: https://boostsecurityio.github.io/poutine/
# custom:
#   severity: medium
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
#     - name: exempt_images
#       type: strings
#       default: []
#       description: Image patterns that may go unpinned, without tag (ghcr.io/acme/*, postgres).
# schemas:
#   - input: schema.input
package runpolicy.policies.unpinned_images

import data.runpolicy.lib

deny contains {
	"job": use.job,
	"line": use.line,
	"uses": use.raw,
	"message": sprintf(
		"job %s runs %s %s, which is not pinned to a digest: whoever can push that tag decides what runs beside the job. Pin it (%s@sha256:<digest>; docker buildx imagetools inspect %s prints it)",
		[use.job, _what[use.source], image, image, image],
	),
} if {
	exempt := lib.patterns("unpinned_images", "exempt_images")
	some use in input.uses
	use.source in {"container", "service"}
	not use.pinned
	image := trim_prefix(use.raw, "docker://")
	not lib.in_patterns(exempt, use.name)
}

_what := {"container": "in container", "service": "service image"}

warn contains {
	"job": id,
	"line": job.line,
	"message": sprintf("job %s chooses a container or service image at run time (an expression): unpinned_images cannot judge it from the file", [id]),
} if {
	some id, job in input.jobs
	_dynamic(job)
}

_dynamic(job) if job.container_dynamic

_dynamic(job) if {
	some service in job.services
	service.dynamic
}
