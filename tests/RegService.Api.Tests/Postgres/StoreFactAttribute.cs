using Xunit.Abstractions;
using Xunit.Sdk;

namespace RegService.Api.Tests.Postgres;

/// <summary>
/// A fact of a test suite that several stores run (<see cref="StoreContractTests"/>): skipped, with
/// <see cref="PostgresServer.SkipReason"/>, in a class marked <see cref="RequiresPostgresAttribute"/>
/// where PostgreSQL is not installed; an ordinary fact otherwise.
/// </summary>
[XunitTestCaseDiscoverer("RegService.Api.Tests.Postgres.StoreFactDiscoverer", "RegService.Api.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

/// <summary>Marks a test class whose <see cref="StoreFactAttribute"/> tests need PostgreSQL.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresPostgresAttribute : Attribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        bool needsPostgres = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresPostgresAttribute)).Any();
        if (needsPostgres && PostgresServer.SkipReason is { } reason)
            return [new XunitSkippedDataRowTestCase(diagnosticMessageSink, display, displayOptions, testMethod, reason)];
        return [new XunitTestCase(diagnosticMessageSink, display, displayOptions, testMethod)];
    }
}
