"""Reply drafts from the team's own model behind an OpenAI-compatible endpoint (issue 19).

- :mod:`~responders.drafts.knowledge`: the brand voice guide and the knowledge file;
- :mod:`~responders.drafts.grounding`: what the model is told (the mention as data,
  never as instructions), redacted and cut to ``[drafts] max_input_chars``;
- :mod:`~responders.drafts.client`: the call, through the ``openai`` client;
- :mod:`~responders.drafts.checks`: what a draft must pass before a person sees it;
- :mod:`~responders.drafts.job`: the background job that answers draft requests;
- :mod:`~responders.drafts.simulator`: an OpenAI-compatible server for tests and the bench.
"""
