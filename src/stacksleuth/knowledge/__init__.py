"""Knowledge as data: rules (rules/<component>/<id>.yaml) and workflows (workflows/<operation>.yaml). No code."""
