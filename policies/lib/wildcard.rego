# METADATA
# title: Wildcard patterns
# description: |-
#   Patterns as list settings write them: "*" stands for any run of
#   characters (slashes included), everything else is literal, case is
#   ignored. A list is indexed once: exact entries become object keys and
#   only entries with a "*" are matched one by one, so a lookup costs the
#   same with 10 entries or 10,000. A leaf package: it imports nothing.
# schemas:
#   - input: schema.input
package runpolicy.lib.wildcard

# to_glob turns a pattern into an OPA glob: the text between the "*"s is
# quoted so that "?", "[" or "{" in a label or name stay literal.
to_glob(pattern) := concat("*", [glob.quote_meta(part) | some part in split(lower(pattern), "*")])

# matches reports whether value matches pattern.
matches(pattern, value) if glob.match(to_glob(pattern), null, lower(value))

# index files a list of patterns under exact (keys, in lower case) and
# globs.
index(list) := {
	"exact": {lower(p): true | some p in list; not contains(p, "*")},
	"globs": [to_glob(p) | some p in list; contains(p, "*")],
}

# listed reports whether value matches an index built by index. The
# lookup is written `!= false`, which is what a bare reference tests: OPA
# evaluates the comparison with fewer allocations.
listed(index, value) if index.exact[lower(value)] != false

listed(index, value) if {
	some g in index.globs
	glob.match(g, null, lower(value))
}
