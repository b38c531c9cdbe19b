package runpolicy.lib.wildcard_test

import data.runpolicy.lib.wildcard

test_matches if {
	wildcard.matches("actions/*", "actions/checkout")
	wildcard.matches("actions/*", "Actions/setup.go/sub")
	wildcard.matches("space-org*/*", "space-org-1/x")
	wildcard.matches("dependabot[bot]", "Dependabot[bot]")
	not wildcard.matches("dependabot[bot]", "dependabotb")
	wildcard.matches("a?c", "a?c")
	not wildcard.matches("a?c", "abc")
	not wildcard.matches("actions/*", "github/x")
}

test_pattern_index_splits_exact_and_globs if {
	wildcard.index(["Ubuntu-Latest", "self-hosted", "gpu-*"]) == {
		"exact": {"ubuntu-latest": true, "self-hosted": true},
		"globs": ["gpu-*"],
	}
}

test_in_patterns if {
	index := wildcard.index(["ubuntu-latest", "gpu-*"])
	wildcard.listed(index, "UBUNTU-latest")
	wildcard.listed(index, "gpu-a100")
	not wildcard.listed(index, "windows-latest")
}

test_to_glob_quotes_all_but_the_star if {
	wildcard.to_glob("A?b*[c]") == `a\?b*\[c\]`
}
