"""Face helpers shared by the face tasks: detection + landmarks (detect), FFHQ alignment and its
inverse (align), feathered face-only paste-back (paste), apparent-age estimate (age_estimate).

numpy + OpenCV + small offline runtimes (LiteRT, onnxruntime); no torch, no Qt, no document.
"""
