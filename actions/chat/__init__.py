"""The rasa-sdk actions, one module per conversation area; the only package the action server registers.

`tracker` reads what every action needs from a tracker and turns results into chat text; `phrases`
holds the small per-language fragments of generated lists. No module does work at import time:
rasa-sdk imports every module here when the action server starts.
"""
