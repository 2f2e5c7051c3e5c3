import Foundation

/// Wall-clock unix seconds, the unit of every stored timestamp.
public func unixNow() -> Int64 {
    Int64(saturating: Date().timeIntervalSince1970)
}
