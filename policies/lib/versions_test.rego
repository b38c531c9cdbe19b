package runpolicy.lib.versions_test

import data.runpolicy.lib.versions

test_parse if {
	versions.parse("v45.0.7") == {"parts": [45, 0, 7], "pre": ""}
	versions.parse("1") == {"parts": [1], "pre": ""}
	versions.parse("V2.1-beta.1+build.5") == {"parts": [2, 1], "pre": "beta.1"}
}

test_parse_rejects_tags_that_are_not_versions if {
	not versions.parse("main")
	not versions.parse("latest")
	not versions.parse("v1.x")
	not versions.parse("0e58ed8671d6b60d0890c21b07f8835ace038e67")
}

test_compare if {
	versions.compare("v45.0.7", "45.0.7") == 0
	versions.compare("v45", "45.0.0") == 0
	versions.compare("v45", "45.0.7") == -1
	versions.compare("46.0.1", "v45.0.7") == 1
	versions.compare("v0.34.2", "0.35.0") == -1
	versions.compare("1.10.0", "1.9.9") == 1
	versions.compare("1.2.0-rc1", "1.2.0") == -1
	versions.compare("1.2.0", "1.2.0-rc1") == 1
	versions.compare("1.2.0-rc1", "1.2.0-rc2") == -1
}

test_in_range_last_affected if {
	range := {"introduced": "0", "last_affected": "45.0.7"}
	versions.in_range("v1", range)
	versions.in_range("v44.0.1", range)
	versions.in_range("v45", range)
	versions.in_range("v45.0.7", range)
	not versions.in_range("v45.0.8", range)
	not versions.in_range("v46.0.1", range)
	not versions.in_range("v47.0.5", range)
	not versions.in_range("main", range)
}

test_in_range_fixed if {
	range := {"introduced": "0", "fixed": "0.35.0"}
	versions.in_range("0.34.2", range)
	versions.in_range("v0.34.0", range)
	not versions.in_range("0.35.0", range)
	not versions.in_range("v0.35.1", range)
}

test_in_range_introduced_later if {
	range := {"introduced": "0.31.0", "fixed": "0.34.0"}
	not versions.in_range("0.30.9", range)
	versions.in_range("0.31.0", range)
	versions.in_range("0.33", range)
	not versions.in_range("0.34.0", range)
}

test_in_range_open_ended if {
	versions.in_range("v9.9", {"introduced": "2.0"})
	versions.in_range("v2", {})
	not versions.in_range("v1.9", {"introduced": "2.0"})
}

test_range_text if {
	versions.range_text({"introduced": "0", "last_affected": "45.0.7"}) == "up to 45.0.7"
	versions.range_text({"introduced": "0", "fixed": "0.35.0"}) == "before 0.35.0"
	versions.range_text({"introduced": "2.0"}) == "from 2.0 on"
}

test_affected if {
	tag := {"ref": "v44", "ref_type": "tag_or_branch", "resolved_sha": "ABC"}
	versions.affected(tag, {"all_versions": true}, "bad") == "every version of it is affected"
	versions.affected(tag, {"all_versions": false, "commits": {"abc": true}}, "bad") == "commit abc is bad"
	versions.affected(tag, {"all_versions": false, "commits": {}, "versions": {"44": true}}, "bad") == "tag v44 is an affected version"
	in_two_ranges := {"all_versions": false, "commits": {}, "versions": {}, "ranges": [{"introduced": "0", "fixed": "45"}, {"introduced": "40", "last_affected": "44"}]}
	versions.affected(tag, in_two_ranges, "bad") == "tag v44 is in the affected range (before 45)"
	not versions.affected({"ref": "main", "ref_type": "tag_or_branch", "resolved_sha": null}, in_two_ranges, "bad")
}

test_shas if {
	versions.shas({"ref": "ABCDEF", "ref_type": "sha", "resolved_sha": null}) == {"abcdef"}
	versions.shas({"ref": "v1", "ref_type": "tag_or_branch", "resolved_sha": "Ff"}) == {"ff"}
}
