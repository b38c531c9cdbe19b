# METADATA
# title: Versions
# description: |-
#   Version comparison for advisory ranges. Versions are written as
#   advisories write them: an optional leading "v", dot-separated numbers
#   (missing parts count as 0) and an optional -prerelease, which sorts
#   before its release. Tags that are not versions (main, latest) have none.
# schemas:
#   - input: schema.input
package runpolicy.lib.versions

# parse reads a tag: parse("v45.0.7") = {"parts": [45, 0, 7], "pre": ""};
# undefined when the tag is not a version.
parse(tag) := {"parts": [to_number(n) | some n in split(m[1], ".")], "pre": m[2]} if {
	some m in regex.find_all_string_submatch_n(
		`^[vV]?([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`,
		tag, 1,
	)
}

# compare returns -1, 0 or 1 as version a sorts before, with or after b.
compare(a, b) := -1 if {
	key(a, b) < key(b, a)
} else := 1 if {
	key(a, b) > key(b, a)
} else := 0

# key is a version's parts padded with zeros to the length of the other's,
# then whether it is a release (true sorts after false) and its prerelease
# text: Rego compares arrays element by element.
key(tag, other) := array.concat(
	[part(v.parts, i) | some i in numbers.range(0, width - 1)],
	[v.pre == "", v.pre],
) if {
	v := parse(tag)
	width := max({count(v.parts), count(parse(other).parts)})
}

part(parts, i) := parts[i]

part(parts, i) := 0 if not parts[i]

# in_range reports whether a tag is a version inside an OSV range:
# {"introduced": "0", "fixed": "46.0.1"} or {"introduced": "0", "last_affected": "45.0.7"}.
in_range(tag, range) if {
	parse(tag)
	introduced(tag, object.get(range, "introduced", "0"))
	before_end(tag, range)
}

introduced(_, "0")

introduced(tag, version) if compare(tag, version) >= 0

before_end(tag, range) if compare(tag, range.fixed) < 0

before_end(tag, range) if compare(tag, range.last_affected) <= 0

before_end(_, range) if {
	not range.fixed
	not range.last_affected
}

# range_text describes a range for a message: "up to 45.0.7", "before 0.35.0".
range_text(range) := sprintf("up to %s", [range.last_affected]) if {
	range.last_affected
} else := sprintf("before %s", [range.fixed]) if {
	range.fixed
} else := sprintf("from %s on", [object.get(range, "introduced", "0")])

# affected says why a reference matches an advisory entry, undefined when it
# does not: every version, a listed commit (the ref, or the commit its tag
# resolved to), a listed version, or a range. commit says what a listed
# commit is. Each step picks one value: a tag can fall in two ranges of one
# entry, and a function must not produce two values for one reference.
affected(use, entry, commit) := "every version of it is affected" if {
	entry.all_versions == true
} else := sprintf("commit %s is %s", [min(listed), commit]) if {
	listed := {sha | some sha in shas(use); entry.commits[sha]}
	count(listed) > 0
} else := sprintf("%s is an affected version", [ref_text(use)]) if {
	use.ref_type == "tag_or_branch"
	some spelling in spellings(use.ref)
	entry.versions[spelling]
} else := sprintf("%s is in the affected range (%s)", [ref_text(use), range_text(ranges[0])]) if {
	use.ref_type == "tag_or_branch"
	ranges := [range | some range in entry.ranges; in_range(use.ref, range)]
	count(ranges) > 0
}

# ref_text names the ref of a reference for a message: a branch when it is
# written @refs/heads/X, else a tag, as @X and @refs/tags/X usually are.
ref_text(use) := sprintf("branch %s", [use.ref]) if {
	parts := split(use.raw, "@")
	startswith(trim_space(parts[count(parts) - 1]), "refs/heads/")
} else := sprintf("tag %s", [use.ref])

# shas are the commits a reference runs, in lower case: its ref when it is
# one, and the commit its tag resolved to.
shas(use) := {lower(sha) |
	some sha in [use.ref | use.ref_type == "sha"]
} | {lower(sha) |
	sha := use.resolved_sha
	is_string(sha)
}

# spellings of a tag with and without its leading "v": advisories write "1"
# for the tag v1.
spellings(ref) := {ref, trim_prefix(ref, "v"), concat("", ["v", ref])}
