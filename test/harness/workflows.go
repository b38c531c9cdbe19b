package harness

import "fmt"

// CompromisedWorkflow is a workflow the built-in policies deny by default:
// compromised_actions (enforce) denies tj-actions/changed-files@v45, and
// nothing else has anything to say.
var CompromisedWorkflow = []byte(`name: changes
on: pull_request
jobs:
  changes:
    runs-on: ubuntu-latest
    steps:
      - uses: step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0
        with:
          egress-policy: audit
      - uses: actions/checkout@v4
      - uses: tj-actions/changed-files@v45
`)

// Numbered returns src with a comment naming run n, so that each run's
// file has its own content (and content hash).
func Numbered(src []byte, n int) []byte {
	return fmt.Appendf(append([]byte(nil), src...), "# run %d\n", n)
}
