"""Kubernetes manifests as model instances (spec/manifests.md): the fields a model's `manifest`
section may read (`fields`), Kubernetes quantities (`quantity`), YAML with positions (`yaml_doc`)
and the values a set of manifests gives a model's consts and params (`fill`)."""
