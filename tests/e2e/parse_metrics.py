#!/usr/bin/python3
"""Parses a Prometheus text exposition with the Prometheus project's own
Python client (python3-prometheus-client): a malformed line raises, and
the exit code is 1. Prints one line per sample: NAME{LABELS} VALUE, with
the labels sorted, and one line per family: # TYPE NAME TYPE."""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
try:
    for family in text_string_to_metric_families(text):
        print(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            print(f"{sample.name}{{{labels}}} {sample.value}")
except Exception as e:  # the parser raises ValueError and others
    print(f"unparsable: {e}", file=sys.stderr)
    sys.exit(1)
