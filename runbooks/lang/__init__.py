"""The playbook language: model and parser (file:line:key errors), expressions (one
sandboxed Jinja environment with the filters), step outputs, control flow (loop, until,
tags, include, serial) and the JSON Schema for playbook files."""
