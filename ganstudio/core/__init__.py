"""Editor core: document, layers, compositing, history, file formats.

Pure numpy + Pillow (+ OpenCV). Never imports Qt or torch (checked by import-linter).
"""
