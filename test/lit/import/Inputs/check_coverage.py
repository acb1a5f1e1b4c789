#!/usr/bin/env python3
"""Fails unless every op type in the importer's default-domain handler table
(Importer::handlers(), ai.onnx) is imported by at least one test in
test/lit/import (errors.test does not count).

usage: check_coverage.py Importer.cpp test/lit/import
"""
import pathlib
import re
import sys

importer, tests = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
table = re.search(r'Importer::handlers\(\) \{(.*?)\n\}', importer.read_text(), re.S)
ops = re.findall(r'\{"(\w+)", &Importer::', table.group(1)) if table else []
if not ops:
    sys.exit(f"no handler table found in {importer}")
models = []
for path in sorted(tests.iterdir()):
    if path.suffix in (".onnxtxt", ".test") and path.name != "errors.test":
        models += [l for l in path.read_text().splitlines() if not l.lstrip().startswith(("#", "//"))]
models += (tests / "Inputs" / "gen_models.py").read_text().splitlines()
text = "\n".join(models)
missing = [op for op in ops if not re.search(r'(=\s*|make_node\(")' + op + r'\b', text)]
if missing:
    sys.exit("op types without an import test: " + ", ".join(missing))
print(f"all {len(ops)} op types have an import test")
