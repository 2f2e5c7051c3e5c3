import Hummingbird
import Logging

/// Turns every thrown error into the JSON error body. Unknown errors become 500 `internal_error` and are logged
/// with the request id; their text is not leaked to the client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response(requestID: context.requestID)
        } catch let error as HTTPError {
            if error.status == .notFound {
                // A known path with another method: 405 with the methods it does take.
                let allowed = Set(routes.methods(matching: request.uri.path))
                if !allowed.isEmpty {
                    var methodError = APIError(
                        status: .methodNotAllowed,
                        code: "method_not_allowed",
                        message: "\(request.method.rawValue) is not allowed here"
                    )
                    methodError.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                    return methodError.response(requestID: context.requestID)
                }
            }
            return APIError(httpStatus: error.status, message: error.body).response(requestID: context.requestID)
        } catch let error as any HTTPResponseError {
            return APIError(httpStatus: error.status, message: nil).response(requestID: context.requestID)
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(error)"])
            return APIError(status: .internalServerError, code: "internal_error", message: "internal error")
                .response(requestID: context.requestID)
        }
    }
}
