"""The network role's model of ifupdown interfaces, and what applies it.

- `model`: the fields, limits and parsed types;
- `parse`: one interface entry, field by field;
- `validate`: the rules between fields, within a host and across the inventory (`validate_inventory`);
- `render`: the stanzas, resolver settings and packages of a valid model;
- `files`: the files ifupdown reads, compared with the wanted ones (the `alur.site.ifupdown_apply` module).

Standard library only, and no Ansible import: `alur check` imports `validate` as plain Python, the role's
filters (`alur.site.network_*`) wrap the same functions, and Ansible ships `files` with the module, so the
command line and the play reject exactly the same models with exactly the same messages.
"""
