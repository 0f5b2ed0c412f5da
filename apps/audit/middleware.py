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
            return response
        finally:
            if reads_token is not None:
                reads.stop_collecting(reads_token)
            context.leave_request(request_token)
