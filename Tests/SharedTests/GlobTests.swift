import Testing

@testable import Core

@Suite struct GlobTests {
    @Test func matchesWithTheOriginalsSemantics() throws {
        let tmp = try #require(Glob("*.tmp"))
        #expect(tmp.matches("/srv/a/b.tmp") && !tmp.matches("/srv/a/b.tmpx"), "* crosses /")
        #expect(try #require(Glob("/srv/*/cache/")).matches("/srv/x/y/cache/"))
        #expect(
            try #require(Glob("/data/file?.[ch]")).matches("/data/file1.c") && !(try #require(Glob("/data/file?.[ch]")).matches("/data/file12.c"))
        )
        #expect(try #require(Glob("/x/[!a-c]*")).matches("/x/d1") && !(try #require(Glob("/x/[!a-c]*")).matches("/x/b1")))
        #expect(try #require(Glob("**/node_modules")).matches("/home/me/app/node_modules"))
        #expect(try #require(Glob("a\\*b")).matches("a*b") && !(try #require(Glob("a\\*b")).matches("axb")))
        #expect(Glob("*.[tmp") == nil && Glob("trailing\\") == nil && Glob("[z-a]") == nil)
    }
}
