"""The sandbox's SMTP server (on aiosmtpd): auth, TLS, limits, fault injection and transcripts.

One call starts a listener; start it twice for a plain/STARTTLS port and an implicit-TLS port:

    server = await start_smtp_server(
        store,                      # MailStore: accepted mail goes to store.deliver(...)
        host="127.0.0.1",
        port=0,                     # 0: any free port, see server.sockets[0].getsockname()
        faults=None,                # FaultEngine consulted at every stage (see below)
        ssl_context=None,           # implicit TLS on this listener
        starttls_context=None,      # STARTTLS offered on a plain listener
        auth_required=False,        # 530 for MAIL/RCPT/DATA before AUTH
        auth_require_tls=False,     # the sandbox allows AUTH over plain text unless asked
        max_message_size=10 * 1024 * 1024,  # advertised as SIZE; 552 when over
        max_recipients=100,         # 452 for each RCPT beyond
        transcripts=None,           # a TranscriptLog to keep each session's dialogue in
    )
    ...
    await stop_smtp_server(server)  # also cuts open sessions (server.close() leaves them)

Offered: EHLO/HELO, SIZE, 8BITMIME, SMTPUTF8, STARTTLS, AUTH PLAIN/LOGIN (checked with
MailStore.authenticate) and XOAUTH2 (MailStore.authenticate_token).

Faults, by the stage of the rule that fires (erpmail.sandbox.faults.Stage):
- REPLY: that reply instead of doing the command (at smtp.connect, instead of the greeting);
  a 421 reply closes the connection after it is sent, and so does any reply at smtp.connect.
- DROP: close at once without a reply; nothing the client already sent is read after it (no
  pipelined command runs). At smtp.data: send 354, read the first line of the
  message, then close (a drop in the middle of DATA). At smtp.end_of_data: the whole message is
  read, nothing stored, no reply.
- DELAY: wait, then carry on. At smtp.end_of_data the message is stored first and the reply
  comes late: the window where a client that gives up cannot know the message got through.
- THROTTLE: from then on the session reads and writes at most bytes_per_second.
- DISCARD: answer as usual but do not store: at smtp.rcpt_to that recipient only; at
  smtp.mail_from, smtp.data, smtp.end_of_data that message; earlier stages, the whole session.
Events carry sender/recipient (at smtp.data and smtp.end_of_data the first recipient), the
authenticated account, the Subject (smtp.end_of_data) and messages_in_session.
"""

from erpmail.sandbox.smtp.server import start_smtp_server, stop_smtp_server
from erpmail.sandbox.smtp.settings import SmtpSettings
from erpmail.sandbox.smtp.transcript import Direction, Transcript, TranscriptLine, TranscriptLog

__all__ = [
    "Direction",
    "SmtpSettings",
    "Transcript",
    "TranscriptLine",
    "TranscriptLog",
    "start_smtp_server",
    "stop_smtp_server",
]
