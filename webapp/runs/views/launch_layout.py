"""Lay the launch form out in sections and give its script each architecture's defaults."""

# Field names in the order a person decides them; a field the form lacks is skipped, one not listed goes last.
SECTIONS = [
    ("Data", ["dataset", "version", "name"]),
    ("Model", ["arch", "pretrained", "start_from", "finetune", "image_size"]),
    ("Training", ["epochs", "batch_size", "optimizer", "lr", "weight_decay", "scheduler", "warmup_epochs",
                  "label_smoothing", "augment", "patience"]),
    ("Machine", ["mixed_precision", "device", "gpus", "seed"]),
    ("Notes", ["notes"]),
]


def form_sections(form) -> dict:
    """Return the form's fields grouped in sections, the architecture options and their defaults."""
    placed, sections = set(), []
    for title, names in SECTIONS:
        fields = [form[name] for name in names if name in form.fields]
        placed.update(names)
        if fields:
            sections.append({"title": title, "fields": fields})
    rest = [form[name] for name in form.fields if name not in placed]
    if rest:
        sections.append({"title": "More", "fields": rest})
    groups = form.architecture_groups() if "arch" in form.fields else []
    selected = str(form["arch"].value() or "") if "arch" in form.fields else ""
    options, defaults = [], {}
    for family, choices in groups:
        rows = []
        for choice in choices:
            value = str(choice["value"])
            rows.append(dict(choice, value=value, selected=value == selected, family=family))
            defaults[value] = {"family": family, "settings": choice.get("defaults") or {},
                               "pretrained_settings": choice.get("pretrained_defaults") or {},
                               "suggested_size": choice.get("suggested_size"),
                               "pretrained": bool(choice.get("pretrained_available")),
                               "reason": choice.get("pretrained_reason") or ""}
        options.append({"family": family, "choices": rows})
    current = defaults.get(selected)
    return {"sections": sections, "arch_groups": options, "arch_defaults": defaults, "arch_current": current}
