using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.Bootstrap;

/// <summary>Deterministic peer ids (SHA2-256 multihash of a label).</summary>
internal static class TestPeers
{
    public static PeerId Id(int n)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes("peer-" + n));
        return PeerId.FromBytes([0x12, 0x20, .. digest]);
    }

    public static Multiaddr Address(int n, string ip = "127.0.0.1", int port = 4000) =>
        Multiaddr.Parse($"/ip4/{ip}/tcp/{port + n}").WithPeerId(Id(n));
}

/// <summary>A <see cref="Random"/> that always returns the same double.</summary>
internal sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;

    protected override double Sample() => value;
}

/// <summary>
/// Wraps a <see cref="FakeTimeProvider"/> and reports the due time of every timer created, so a
/// test knows a delay has been scheduled (and how long it is) before it advances the clock.
/// </summary>
internal sealed class RecordingTimeProvider(FakeTimeProvider fake) : TimeProvider
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public FakeTimeProvider Fake { get; } = fake;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>The due time of the next timer created.</summary>
    public async Task<TimeSpan> NextTimerAsync() =>
        await _timers.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public bool TryGetTimer(out TimeSpan dueTime) => _timers.Reader.TryRead(out dueTime);
}

/// <summary>A dialer whose every attempt the test completes by hand.</summary>
internal sealed class ScriptedDialer : IPeerDialer
{
    private readonly Channel<DialAttempt> _attempts = Channel.CreateUnbounded<DialAttempt>();

    public async ValueTask DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var attempt = new DialAttempt(address, cancellationToken);
        _attempts.Writer.TryWrite(attempt);
        await attempt.Result.Task.WaitAsync(cancellationToken);
    }

    public async Task<DialAttempt> NextAttemptAsync() =>
        await _attempts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public bool TryGetAttempt(out DialAttempt? attempt) => _attempts.Reader.TryRead(out attempt);
}

internal sealed record DialAttempt(Multiaddr Address, CancellationToken CancellationToken)
{
    public TaskCompletionSource Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Fail() => Result.SetException(new PeerUnreachableException("connection refused"));

    public void Succeed() => Result.SetResult();
}
