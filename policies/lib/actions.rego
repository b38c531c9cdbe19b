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

import data.runpolicy.lib.wildcard

# index splits a list into the entries that allow and those that block.
# names_only says whether the list only allows, and only by name (exact
# names, owner/*): the default list and most real ones, which unlisted
# judges in one pass.
index(list) := {"allow": allow, "block": block, "names_only": _names_only(allow, block)} if {
	entries := [_entry(text) | some text in list; is_string(text)]
	allow := _entry_index(entries, false)
	block := _entry_index(entries, true)
}

_names_only(allow, block) if {
	(count(allow.refs) + count(allow.any_ref)) + count(allow.globs) == 0
	((count(block.names) + count(block.refs)) + count(block.any_ref)) + count(block.globs) == 0
} else := false

# _entry_index files each entry under its class: exact names and owner/*
# entries are keys of names, the forms a reference lists in its names;
# name@ref entries are keys of refs; only other wildcards are kept as globs.
# Globs for any ref are joined into one pattern, any_ref, of alternatives
# ("{a*/*,b*/*}"): one glob.match per reference, however many there are.
# Only globs with a ref pattern are kept one by one, as [name, ref] pairs.
_entry_index(entries, block) := {
	"names": {e.name: true | some e in entries; e.block == block; e.class == "name"},
	"refs": {concat("@", [e.name, e.ref]): true | some e in entries; e.block == block; e.class == "ref"},
	"any_ref": _alternatives([wildcard.to_glob(e.name) |
		some e in entries
		e.block == block
		e.class == "glob"
		e.ref == ""
	]),
	"globs": [[wildcard.to_glob(e.name), wildcard.to_glob(e.ref)] |
		some e in entries
		e.block == block
		e.class == "glob"
		e.ref != ""
	],
}

# _alternatives joins globs into one that matches what any of them matches,
# or "" for none. glob.quote_meta leaves "," as it is, which inside "{…}"
# would split an alternative: it is escaped here.
_alternatives([]) := ""

_alternatives(globs) := concat("", ["{", concat(",", escaped), "}"]) if {
	count(globs) > 0
	escaped := [replace(g, ",", `\,`) | some g in globs]
}

# _entry parses one entry, in lowercase: "!Owner/Repo@v1" →
# {"block": true, "name": "owner/repo", "ref": "v1", "class": "ref"}.
_entry(text) := {"block": startswith(body, "!"), "name": name, "ref": ref, "class": _class(name, ref)} if {
	body := lower(trim_space(text))
	[name, ref] := _name_ref(trim_prefix(body, "!"))
}

# _name_ref splits an entry at "@"; no ref and "@*" both mean any ref.
# Docker entries keep their tag or digest in the name.
_name_ref(body) := [body, ""] if {
	startswith(body, "docker://")
} else := [body, ""] if {
	not contains(body, "@")
} else := [name, ""] if {
	[name, "*"] = split(body, "@")
} else := split(body, "@")

_class(name, "") := "name" if {
	regex.match(`^[^*/]+/\*$`, name) # owner/*: every reference lists it in its names
} else := "glob" if {
	contains(name, "*")
} else := "name"

_class(name, ref) := "glob" if {
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
# image with and without tag), by name@ref, or by an entry with "*".
#
# It judges all references in one call, and each part binds its lookup
# table once: in OPA a function call per reference, or a reference
# resolved again for each one, costs more than the lookup itself. A part
# of the index that is empty (most lists have no "!" entries, refs or
# globs) costs one count. Lookups are written `table[key] != false`, which
# is what a bare `table[key]` tests with a few allocations less: they run
# once per name of every reference.
listed_refs(index, uses) := set() if {
	((count(index.names) + count(index.refs)) + count(index.any_ref)) + count(index.globs) == 0
} else := (by_name | by_ref) | by_glob if {
	names := index.names
	refs := index.refs
	by_name := {i |
		some i, use in uses
		some name in use.names
		names[name] != false
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
		_globbed(index, use)
	}
}

# unlisted returns the keys of the remote references in uses that a list
# (both halves of its index) does not allow: listed by no allow entry, or
# by a "!" entry, which wins over every allow.
#
# A list that only allows, and only by name (see index), is judged in one
# pass: a reference is unlisted when none of its names is a key. The call per reference is
# cached by OPA for a reference repeated across jobs, and costs less than
# a comprehension over all references and their names. Any other list is
# looked up once per half, and set differences cost less than a `not` per
# reference.
unlisted(index, uses) := {i |
	names := index.allow.names
	some i, use in uses
	not _listed_by_name(names, use.names)
	use.kind != "local" # second: most references are listed, and local ones have no names
} if {
	index.names_only == true
} else := (_remote(uses) - listed_refs(index.allow, uses)) - listed_refs(index.block, uses)

_listed_by_name(names, use_names) if {
	some name in use_names
	names[name] != false
}

_remote(uses) := {i | some i, use in uses; use.kind != "local"}

# named_in returns the keys of the references in uses that an advisory
# list (the compromised or vulnerable lists' shape) names: by one of their
# names, which are in lower case like the list's keys, or by the commit
# they run (the ref, or the commit the resolver found for the tag).
named_in(list, uses) := {i |
	names := object.get(list, "actions", {})
	some i, use in uses
	some name in use.names
	names[name] != false
} | {i |
	commits := object.get(list, "commits", {})
	some i, use in uses
	some sha in [use.ref, use.resolved_sha] # resolved_sha is null until the resolver looked the tag up
	commits[sha] != false
}

# _globbed reports whether an entry with "*" matches a reference: its name
# (and ref, for an entry with a ref pattern), or for a docker image the
# whole reference.
_globbed(index, use) if {
	index.any_ref != ""
	glob.match(index.any_ref, null, lower(use.name))
}

_globbed(index, use) if {
	index.any_ref != ""
	use.kind == "docker"
	glob.match(index.any_ref, null, use.names[0]) # the whole reference, trimmed and in lower case
}

_globbed(index, use) if {
	some [name_glob, ref_glob] in index.globs
	glob.match(name_glob, null, lower(use.name))
	glob.match(ref_glob, null, lower(use.ref))
}

_globbed(index, use) if {
	use.kind == "docker"
	some [name_glob, _] in index.globs
	glob.match(name_glob, null, use.names[0])
}
