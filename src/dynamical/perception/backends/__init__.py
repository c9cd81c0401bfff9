"""Foundation-model backends (DINOv3, SAM 3, V-JEPA 2) and the cascade that runs them.

Each backend is a real ``transformers`` model loaded from a local directory
(``from_pretrained(dir, local_files_only=True)``): the weights a user has, never a download.
torch and transformers are imported here only, when a backend is built.
"""
