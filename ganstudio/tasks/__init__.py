"""GAN tasks: numpy arrays + a frozen Request in, generator of Progress, Result out.

Tasks never import ganstudio.core.document, Qt or the jobs layer; torch is imported lazily.
"""
