# METADATA
# title: Action patterns
# description: |-
#   GitHub's allow-list syntax for actions and reusable workflows: owner/*,
#   owner/repo (any ref), owner/repo@ref, owner/repo/path/to/workflow.yml@ref,
#   "*" inside names (space-org*/*) or refs (@v1.*), docker://image
#   patterns, and "!" in front of an entry to block instead of allow. Case
#   is ignored. A list is indexed once (see runpolicy.lib.patterns) so that
#   a reference costs a few lookups whatever the length of the list.
# related_resources:
#   - description: GitHub, allowing select actions and reusable workflows to run
#     ref: https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/enabling-features-for-your-repository/managing-github-actions-settings-for-a-repository#allowing-select-actions-and-reusable-workflows-to-run
# schemas:
#   - input: schema.input
package runpolicy.lib.actions

import data.runpolicy.lib

# index splits a list into the entries that allow and those that block.
index(list) := {"allow": entry_index(entries, false), "block": entry_index(entries, true)} if {
	entries := [entry(text) | some text in list; is_string(text)]
}

# entry_index files each entry under its class: exact names and owner/*
# entries are keys of names, the forms a reference lists in its names;
# name@ref entries are keys of refs; only other wildcards are kept as globs.
# Globs for any ref are joined into one pattern, any_ref, of alternatives
# ("{a*/*,b*/*}"): one glob.match per reference, however many there are.
# Only globs with a ref pattern are kept one by one, as [name, ref] pairs.
entry_index(entries, block) := {
	"names": {e.name: true | some e in entries; e.block == block; e.class == "name"},
	"refs": {concat("@", [e.name, e.ref]): true | some e in entries; e.block == block; e.class == "ref"},
	"any_ref": alternatives([lib.glob_pattern(e.name) | some e in entries; e.block == block; e.class == "glob"; e.ref == ""]),
	"globs": [[lib.glob_pattern(e.name), lib.glob_pattern(e.ref)] | some e in entries; e.block == block; e.class == "glob"; e.ref != ""],
}

# alternatives joins globs into one that matches what any of them matches,
# or "" for none. glob.quote_meta leaves "," as it is, which inside "{…}"
# would split an alternative: it is escaped here.
alternatives([]) := ""

alternatives(globs) := concat("", ["{", concat(",", [replace(g, ",", `\,`) | some g in globs]), "}"]) if count(globs) > 0

# entry parses one entry, in lowercase: "!Owner/Repo@v1" →
# {"block": true, "name": "owner/repo", "ref": "v1", "class": "ref"}.
entry(text) := {"block": startswith(body, "!"), "name": name, "ref": ref, "class": class(name, ref)} if {
	body := lower(trim_space(text))
	[name, ref] := name_ref(trim_prefix(body, "!"))
}

# name_ref splits an entry at "@"; no ref and "@*" both mean any ref.
# Docker entries keep their tag or digest in the name.
name_ref(body) := [body, ""] if {
	startswith(body, "docker://")
} else := [body, ""] if {
	not contains(body, "@")
} else := [name, ""] if {
	[name, "*"] = split(body, "@")
} else := split(body, "@")

class(name, "") := "name" if {
	regex.match(`^[^*/]+/\*$`, name) # owner/*: every reference lists it in its names
} else := "glob" if {
	contains(name, "*")
} else := "name"

class(name, ref) := "glob" if {
	ref != ""
	contains(concat("@", [name, ref]), "*")
} else := "ref" if {
	ref != ""
}

# listed reports whether an index (the allow or block half) lists one
# reference.
listed(index, use) if count(listed_refs(index, [use])) > 0

# listed_refs returns the keys of the references in uses (an array, or an
# object such as a policy's judged references) that an index lists: by
# one of their names (full name, repository, owner/*, or for docker the
# image with and without tag), by name@ref, or by an entry with "*". It
# judges all references in one call, and each part binds its lookup table
# once: in OPA a function call per reference, or a reference resolved again
# for each one, costs more than the lookup itself. A part of the index that
# is empty (most lists have no "!" entries, refs or globs) costs one count.
# Lookups are written `table[key] != false`, which is what a bare
# `table[key]` tests: OPA evaluates the comparison with a few allocations
# less, and the lookups run once per name of every reference.
listed_refs(index, uses) := set() if {
	((count(index.names) + count(index.refs)) + count(index.any_ref)) + count(index.globs) == 0
} else := (by_name | by_ref) | by_glob if {
	names := index.names
	refs := index.refs
	by_name := {i |
		some i, use in uses
		some name in use.names
		names[name] != false # see above
	}
	by_ref := {i |
		count(refs) > 0
		some i, use in uses
		not by_name[i]
		use.kind != "docker" # docker entries keep their tag in the name
		some name in use.names
		refs[concat("@", [name, lower(use.ref)])] != false
	}
	by_glob := {i |
		count(index.any_ref) + count(index.globs) > 0
		some i, use in uses
		not by_name[i]
		not by_ref[i]
		globbed(index, use)
	}
}

# globbed reports whether an entry with "*" matches a reference: its name
# (and ref, for an entry with a ref pattern), or for a docker image the
# whole reference.
globbed(index, use) if {
	index.any_ref != ""
	glob.match(index.any_ref, null, lower(use.name))
}

globbed(index, use) if {
	index.any_ref != ""
	use.kind == "docker"
	glob.match(index.any_ref, null, use.names[0]) # the whole reference, trimmed and in lower case
}

globbed(index, use) if {
	some [name_glob, ref_glob] in index.globs
	glob.match(name_glob, null, lower(use.name))
	glob.match(ref_glob, null, lower(use.ref))
}

globbed(index, use) if {
	use.kind == "docker"
	some [name_glob, _] in index.globs
	glob.match(name_glob, null, use.names[0])
}
