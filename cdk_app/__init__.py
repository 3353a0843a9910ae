"""The AWS CDK app that deploys automl-lite: one stack assembled from logical units.

``cdk_app.app`` is the entry point ``cdk.json`` runs; ``cdk_app.stack`` wires the units
(``cdk_app.units``: ingest, notify, steps, training, orchestration) together.
"""
