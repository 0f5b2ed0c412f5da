from django.http import FileResponse

from apps.audit import context, reads


class AuditMiddleware:
    """Makes the request the audit trail's context (actor, via, request id) and writes the
    response's confidential reads before the response leaves. Put it after RequestIdMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_token = context.enter_request(request)
        reads_token = reads.start_collecting()
        try:
            response = self.get_response(request)
            noted = reads.stop_collecting(reads_token)
            reads_token = None
            if noted and response.status_code < 400:
                reads.flush(noted)  # fails closed: no event, no response (a 500 instead)
            if response.streaming and not isinstance(response, FileResponse):
                response.streaming_content = _audited(request, response.streaming_content)
            return response
        finally:
            if reads_token is not None:
                reads.stop_collecting(reads_token)
            context.leave_request(request_token)


def _audited(request, chunks):
    """A streamed body (a list's CSV, apps.core.tabular) built after the view returned: each
    chunk is built in the request's audit context, and the confidential reads it noted are
    written before it is sent (fails closed: the stream stops)."""
    chunks = iter(chunks)
    while True:
        request_token = context.enter_request(request)
        reads_token = reads.start_collecting()
        try:
            chunk = next(chunks, None)
            noted = reads.stop_collecting(reads_token)
            reads_token = None
            if noted:
                reads.flush(noted)
        finally:
            if reads_token is not None:
                reads.stop_collecting(reads_token)
            context.leave_request(request_token)
        if chunk is None:
            return
        yield chunk
