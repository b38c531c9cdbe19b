package runpolicy.policies.secret_exfiltration_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.secret_exfiltration

# branch_run is a push to feature/x whose workflow differs from main's copy
# and reads NPM_TOKEN (line 40) and GITHUB_TOKEN (line 30).
branch_run := fx.patched({
	"run": object.union(fx.doc.run, {"branch": "feature/x", "is_default_branch": false}),
	"workflow": object.union(fx.doc.workflow, {"modified": true, "default_branch_sha256": fx.sha_b}),
	"secrets": {
		"names": ["NPM_TOKEN", "GITHUB_TOKEN"], "bulk": false, "inherit": false,
		"refs": [
			{"name": "GITHUB_TOKEN", "bulk": false, "job": "build", "step": 1, "context": "env", "line": 30},
			{"name": "NPM_TOKEN", "bulk": false, "job": "build", "step": 2, "context": "env", "line": 40},
		],
	},
})

# patch returns branch_run with some fields of one of its objects replaced.
patch(key, fields) := object.union(branch_run, {key: object.union(branch_run[key], fields)})

denied(doc) if {
	count(secret_exfiltration.deny) == 1 with input as doc
}

approve := sprintf("Merge the workflow change into main first, or approve this version (a maintainer clicks \"Approve this version\" in the check run of a run it stopped, or add %s to secret_exfiltration.approved_workflow_sha256)", [fx.sha_a])

test_modified_workflow_on_a_branch_reading_secrets if {
	secret_exfiltration.deny == {{
		"message": sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and differs from main: an unreviewed workflow could send them anywhere. %s", [approve]),
		"line": 40,
		"secrets": ["NPM_TOKEN"],
	}} with input as branch_run
}

test_new_workflow if {
	{v.message | some v in secret_exfiltration.deny} == {sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and is new on this branch: an unreviewed workflow could send them anywhere. %s", [approve])} with input as patch("workflow", {"default_branch_sha256": null})
}

test_unmodified_workflow_passes if {
	not denied(patch("workflow", {"modified": false, "default_branch_sha256": fx.sha_a}))
}

test_default_branch_passes if {
	not denied(patch("run", {"branch": "main", "is_default_branch": true}))
}

test_default_branch_with_analyze_default_branch if {
	denied(patch("run", {"branch": "main", "is_default_branch": true})) with data.runpolicy.settings.secret_exfiltration.analyze_default_branch as true
}

test_only_ignored_secrets_pass if {
	not denied(patch("secrets", {"names": ["GITHUB_TOKEN", "github_token"]}))
	denied(patch("secrets", {"names": ["GITHUB_TOKEN"]})) with data.runpolicy.settings.secret_exfiltration.ignored_secrets as []
}

test_ignored_secrets_take_patterns if {
	not denied(branch_run) with data.runpolicy.settings.secret_exfiltration.ignored_secrets as ["GITHUB_TOKEN", "npm_*"]
}

test_no_secrets_pass if {
	not denied(patch("secrets", {"names": [], "refs": []}))
}

test_bulk_secrets if {
	doc := patch("secrets", {"names": [], "bulk": true, "refs": [{"name": "", "bulk": true, "job": "build", "step": 3, "context": "env", "line": 50}]})
	secret_exfiltration.deny == {{
		"message": sprintf(".github/workflows/ci.yml on branch feature/x reads every secret (toJSON(secrets) or secrets[…]) and differs from main: an unreviewed workflow could send them anywhere. %s", [approve]),
		"line": 50,
		"secrets": [],
	}} with input as doc
}

test_secrets_inherit if {
	doc := patch("secrets", {"bulk": true, "inherit": true})
	{v.message | some v in secret_exfiltration.deny} == {sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and every secret (secrets: inherit) and differs from main: an unreviewed workflow could send them anywhere. %s", [approve])} with input as doc
}

test_bulk_secrets_only_ignores_named_secrets if {
	not denied(branch_run) with data.runpolicy.settings.secret_exfiltration.bulk_secrets_only as true
	denied(patch("secrets", {"bulk": true, "inherit": true})) with data.runpolicy.settings.secret_exfiltration.bulk_secrets_only as true
}

test_exempt_actor if {
	bot := patch("run", {"actor": "dependabot[bot]", "triggering_actor": "dependabot[bot]"})
	not denied(bot)
	not denied(patch("run", {"actor": "Renovate[bot]", "triggering_actor": ""}))
}

test_exempt_actor_rerun_by_someone_else if {
	denied(patch("run", {"actor": "dependabot[bot]", "triggering_actor": "mallory"}))
	denied(patch("run", {"actor": "mallory", "triggering_actor": "dependabot[bot]"}))
}

test_exempt_actors_setting if {
	denied(patch("run", {"actor": "dependabot[bot]", "triggering_actor": "dependabot[bot]"})) with data.runpolicy.settings.secret_exfiltration.exempt_actors as []
	not denied(branch_run) with data.runpolicy.settings.secret_exfiltration.exempt_actors as ["octocat"]
}

test_approved_workflow_hash if {
	not denied(branch_run) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [upper(fx.sha_a)]
	denied(branch_run) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_b]
}

test_line_defaults_to_zero_without_refs if {
	{v.line | some v in secret_exfiltration.deny} == {0} with input as patch("secrets", {"refs": []})
}

# secrets: inherit counts as bulk access even when the input's bulk flag is
# not set.
test_secrets_inherit_without_bulk if {
	doc := patch("secrets", {"names": [], "bulk": false, "inherit": true})
	{v.message | some v in secret_exfiltration.deny} == {sprintf(".github/workflows/ci.yml on branch feature/x reads every secret (secrets: inherit) and differs from main: an unreviewed workflow could send them anywhere. %s", [approve])} with input as doc
}

# line is the first read that counts, bulk or by name; ignored secrets
# (GITHUB_TOKEN at line 30) do not count.
test_line_is_the_first_counted_read if {
	bulk_ref := {"name": "", "bulk": true, "job": "build", "step": 3, "context": "env", "line": 50}
	{v.line | some v in secret_exfiltration.deny} == {40} with input as patch("secrets", {"bulk": true, "refs": array.concat(branch_run.secrets.refs, [bulk_ref])})
	early := object.union(bulk_ref, {"line": 35})
	{v.line | some v in secret_exfiltration.deny} == {35} with input as patch("secrets", {"bulk": true, "refs": array.concat(branch_run.secrets.refs, [early])})
	lower_case := {"name": "npm_token", "bulk": false, "job": "build", "step": 4, "context": "env", "line": 20}
	{v.line | some v in secret_exfiltration.deny} == {20} with input as patch("secrets", {"refs": array.concat(branch_run.secrets.refs, [lower_case])})
}

# callee_run: the workflow file is main's copy and reads every secret
# (secrets: inherit); the local reusable workflow it calls was changed.
callee_run := patch("workflow", {
	"modified": true, "default_branch_sha256": fx.sha_a,
	"modified_files": [reusable_file],
})

reusable_file := {"path": ".github/workflows/reusable.yml", "uses": "./.github/workflows/reusable.yml", "change": "differs", "reason": "", "sha256": fx.sha_b}

workflow_file := {"path": ".github/workflows/ci.yml", "uses": "", "change": "differs", "reason": "", "sha256": fx.sha_a}

callee_patch(files) := object.union(callee_run, {"workflow": object.union(callee_run.workflow, {"modified_files": files})})

messages(doc) := {v.message | some v in secret_exfiltration.deny with input as doc}

test_modified_callee_named if {
	messages(callee_run) == {sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and runs .github/workflows/reusable.yml, which differs from main: an unreviewed workflow could send them anywhere. Merge the workflow change into main first, or approve this version (a maintainer clicks \"Approve this version\" in the check run of a run it stopped, or add %s to secret_exfiltration.approved_workflow_sha256)", [fx.sha_b])}
}

test_new_callee if {
	messages(callee_patch([object.union(reusable_file, {"change": "new"})])) == {sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and runs .github/workflows/reusable.yml, which is new on this branch: an unreviewed workflow could send them anywhere. Merge the workflow change into main first, or approve this version (a maintainer clicks \"Approve this version\" in the check run of a run it stopped, or add %s to secret_exfiltration.approved_workflow_sha256)", [fx.sha_b])}
}

# An unreadable callee counts as modified, says why, and cannot be approved
# by digest.
test_unreadable_callee if {
	unreadable := object.union(reusable_file, {"change": "unknown", "reason": "unreadable at the head commit: not found", "sha256": null})
	doc := callee_patch([unreadable])
	messages(doc) == {".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and runs .github/workflows/reusable.yml, which could not be compared with main, so counts as modified (unreadable at the head commit: not found): an unreviewed workflow could send them anywhere. Merge the workflow change into main first"}
	denied(doc) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_a, fx.sha_b]
}

test_workflow_and_callee_modified if {
	doc := callee_patch([workflow_file, reusable_file])
	messages(doc) == {sprintf(".github/workflows/ci.yml on branch feature/x reads secrets NPM_TOKEN and differs from main and runs .github/workflows/reusable.yml, which differs from main: an unreviewed workflow could send them anywhere. Merge the workflow change into main first, or approve these versions (a maintainer clicks \"Approve this version\" in the check run of a run it stopped, or add %s, %s to secret_exfiltration.approved_workflow_sha256)", [fx.sha_a, fx.sha_b])}
}

# Approving the caller's digest does not approve a modified callee: every
# modified file must be approved.
test_approval_covers_every_modified_file if {
	denied(callee_run) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_a]
	not denied(callee_run) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_b]
	both := callee_patch([workflow_file, reusable_file])
	denied(both) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_b]
	not denied(both) with data.runpolicy.settings.secret_exfiltration.approved_workflow_sha256 as [fx.sha_a, fx.sha_b]
}

test_unmodified_callees_pass if {
	not denied(object.union(callee_run, {"workflow": object.union(callee_run.workflow, {"modified": false, "modified_files": []})}))
}

test_modified_callee_on_the_default_branch_passes if {
	not denied(object.union(callee_run, {"run": object.union(callee_run.run, {"branch": "main", "is_default_branch": true})}))
}

test_no_button_when_not_approvable if {
	msgs := messages(branch_run) with data.runpolicy.settings.secret_exfiltration.approvable as false
	every m in msgs {
		not contains(m, "Approve this version")
		contains(m, sprintf("or approve this version (add %s to secret_exfiltration.approved_workflow_sha256)", [fx.sha_a]))
	}
	count(msgs) == 1
}
