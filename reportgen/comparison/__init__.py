"""Several models on the same data: paired tests, disagreements, findings and explanations side
by side, and which model to ship (``reportgen compare``, ``reportgen.compare``).

The package is named ``comparison`` so that ``reportgen.compare`` stays the API function.
Stages, in data-flow order: ``runner`` (one gate run per model) → ``paired`` → ``disagreement``
→ ``findings`` → ``explain`` → ``ranking``; ``summary`` and ``render`` read the result.
"""
