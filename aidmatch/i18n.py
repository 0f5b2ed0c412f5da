"""Messages for people, marked for translation without importing Django.

A domain error's detail and title are English message ids: ``gettext_noop`` marks them for
``makemessages`` (it extracts ``gettext_noop(…)`` calls), and the API translates them into the
request's language when it answers (apps.core.problems). A message that names values keeps them
apart as ``%(name)s`` placeholders and ``params``, so the translation can place them where its
grammar needs them.
"""


def gettext_noop(message: str) -> str:
    return message
