using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Node.Mesh;
using static PromiseGrid.Mesh.Node.Tests.Mesh.ConnectionManagerTests;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

public sealed class ConnectionTrimmerTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly FakeView _view = new();
    private readonly Channel<int> _passes = Channel.CreateUnbounded<int>();
    private ConnectionTrimmer? _trimmer;

    public async ValueTask DisposeAsync()
    {
        if (_trimmer is not null)
        {
            await _trimmer.DisposeAsync().AsTask().WaitAsync(Timeout);
        }
    }

    private ConnectionTrimmer Start(ConnectionManager? manager = null)
    {
        manager ??= new ConnectionManager(new ConnectionManagerOptions
        {
            LowWater = 2,
            HighWater = 4,
            TrimInterval = TimeSpan.FromMinutes(1),
            TimeProvider = _time,
        });
        _trimmer = new ConnectionTrimmer(manager, _view);
        _trimmer.TrimCompleted += closed => _passes.Writer.TryWrite(closed);
        _trimmer.Start();
        return _trimmer;
    }

    private async Task<int> NextPassAsync() => await _passes.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    [Fact]
    public async Task TrimInterval_OverTheHighWaterMark_ClosesTheSelectedConnections()
    {
        _view.Set([.. Enumerable.Range(1, 6).Select(n => Conn(n, streams: n))]);
        Start();

        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(4, await NextPassAsync());
        Assert.Equal([1L, 2L, 3L, 4L], _view.Closed);
    }

    [Fact]
    public async Task RequestTrim_BeforeTheInterval_RunsAPassAtOnce()
    {
        _view.Set([.. Enumerable.Range(1, 5).Select(n => Conn(n))]);
        var trimmer = Start();

        trimmer.RequestTrim();

        Assert.Equal(3, await NextPassAsync());
        Assert.Equal(3, _view.Closed.Count);
    }

    [Fact]
    public async Task RequestTrim_UnderTheHighWaterMark_ClosesNothing()
    {
        _view.Set([.. Enumerable.Range(1, 4).Select(n => Conn(n))]);
        var trimmer = Start();

        trimmer.RequestTrim();

        Assert.Equal(0, await NextPassAsync());
        Assert.Empty(_view.Closed);
    }

    [Fact]
    public async Task TrimPass_OneCloseFails_TheOthersAreStillClosed()
    {
        _view.Set([.. Enumerable.Range(1, 5).Select(n => Conn(n, streams: n))]);
        _view.FailingId = 2;
        var trimmer = Start();

        trimmer.RequestTrim();

        Assert.Equal(2, await NextPassAsync());
        Assert.Equal([1L, 3L], _view.Closed);
    }

    [Fact]
    public async Task TrimPass_BootstrapPeerProtected_IsKept()
    {
        var manager = new ConnectionManager(new ConnectionManagerOptions { LowWater = 0, HighWater = 1, TimeProvider = _time });
        manager.Protect(Peer(1), ConnectionManager.BootstrapTag);
        _view.Set([Conn(1), Conn(2)]);
        var trimmer = Start(manager);

        trimmer.RequestTrim();

        Assert.Equal(1, await NextPassAsync());
        Assert.Equal([2L], _view.Closed);
    }

    [Fact]
    public async Task DisposeAsync_Started_StopsTheTimerAndTheLoop()
    {
        _view.Set([.. Enumerable.Range(1, 6).Select(n => Conn(n))]);
        var trimmer = Start();

        await trimmer.DisposeAsync().AsTask().WaitAsync(Timeout);
        await trimmer.DisposeAsync().AsTask().WaitAsync(Timeout);
        _time.Advance(TimeSpan.FromMinutes(10));
        trimmer.RequestTrim();

        Assert.False(_passes.Reader.TryRead(out _));
        Assert.Empty(_view.Closed);
        Assert.Throws<ObjectDisposedException>(trimmer.Start);
    }

    private sealed class FakeView : IConnectionView
    {
        private readonly Lock _lock = new();
        private readonly List<long> _closed = [];
        private IReadOnlyList<ConnectionSnapshot> _connections = [];

        public long? FailingId { get; set; }

        public List<long> Closed
        {
            get
            {
                lock (_lock)
                {
                    return [.. _closed];
                }
            }
        }

        public void Set(IReadOnlyList<ConnectionSnapshot> connections) => _connections = connections;

        public IReadOnlyList<ConnectionSnapshot> GetConnections() => _connections;

        public ValueTask CloseAsync(ConnectionSnapshot connection, CancellationToken cancellationToken = default)
        {
            if (connection.ConnectionId == FailingId)
            {
                throw new ConnectionClosedException("already gone");
            }

            lock (_lock)
            {
                _closed.Add(connection.ConnectionId);
            }

            return ValueTask.CompletedTask;
        }
    }
}
