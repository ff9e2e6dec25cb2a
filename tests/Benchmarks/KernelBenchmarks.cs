using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Benchmarks;

/// <summary>
/// The port kernel beside a raw bounded <see cref="Channel{T}"/> doing the same work: one-way
/// throughput between two tasks (32 B inline, 1 MiB out of line) and request/reply latency.
/// Both sides allocate one message object per message; the 32-byte payload buffer is shared.
/// Queue capacity is the same (<see cref="QueueLimit"/>) for the port and the channel.
/// The one-way consumer is a task of its own that resumes on the pool, as the channel's reader
/// does; the request/reply server resumes on the thread that delivered its request
/// (<see cref="PortTask.ResumeReceivesInline"/>), which a server whose code between two receives
/// is short and never blocks may choose.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class KernelBenchmarks
{
    private const int Messages = 10_000;
    private const int QueueLimit = 1024;
    private const int SameThreadBatch = 500;

    private readonly byte[] _small = new byte[32];
    private readonly byte[] _large = new byte[1 << 20];
    private IdentityKeyPair _identity = null!;
    private PortKernel _kernel = null!;
    private PortTask _client = null!;
    private PortTask _server = null!;
    private PortTask _consumer = null!;
    private PortName _serverPort;
    private PortName _serverSend;
    private PortName _consumerPort;
    private PortName _consumerSend;
    private PortName _replyPort;
    private Channel<ChannelMessage> _requests = null!;
    private Channel<ChannelMessage> _replies = null!;

    [GlobalSetup]
    public void Setup()
    {
        _identity = IdentityKeyPair.Generate();
        _kernel = new PortKernel(_identity.PeerId);
        _client = _kernel.CreateTask("client");
        _server = _kernel.CreateTask("server");

        // The server's code between two receives is short and never blocks: a client's send
        // may run it on the client's thread.
        _server.ResumeReceivesInline = true;
        _serverPort = _server.CreatePort();
        _server.SetQueueLimit(_serverPort, QueueLimit);
        _serverSend = _server.InsertRight(_client, _serverPort, PortDisposition.MakeSend);
        _consumer = _kernel.CreateTask("consumer");
        _consumerPort = _consumer.CreatePort();
        _consumer.SetQueueLimit(_consumerPort, QueueLimit);
        _consumerSend = _consumer.InsertRight(_client, _consumerPort, PortDisposition.MakeSend);
        _replyPort = _client.CreatePort();
        var options = new BoundedChannelOptions(QueueLimit) { SingleReader = false, SingleWriter = false };
        _requests = Channel.CreateBounded<ChannelMessage>(options);
        _replies = Channel.CreateBounded<ChannelMessage>(options);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _kernel.DisposeAsync();
        _identity.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task OneWay32B_Kernel() => OneWayKernelAsync(large: false);

    [Benchmark(OperationsPerInvoke = Messages, Baseline = true)]
    public Task OneWay32B_Channel() => OneWayChannelAsync(large: false);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task OneWay1MiBOutOfLine_Kernel() => OneWayKernelAsync(large: true);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task OneWay1MiBOutOfLine_Channel() => OneWayChannelAsync(large: true);

    /// <summary>
    /// One-way on one thread: batches of <see cref="SameThreadBatch"/> sends, then as many
    /// receives, so nothing blocks and no other thread takes part. The one-way cases above fall
    /// into this regime when their producer and consumer take turns on one core, which is where
    /// the channel is fastest; this case measures it on purpose.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public void OneWaySameThread32B_Kernel()
    {
        for (var b = 0; b < Messages / SameThreadBatch; b++)
        {
            for (var i = 0; i < SameThreadBatch; i++)
            {
                _client.SendMessageAsync(new PortMessage { Destination = _consumerSend, Payload = _small }).GetAwaiter().GetResult();
            }

            for (var i = 0; i < SameThreadBatch; i++)
            {
                _consumer.ReceiveMessageAsync(_consumerPort).GetAwaiter().GetResult();
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public void OneWaySameThread32B_Channel()
    {
        for (var b = 0; b < Messages / SameThreadBatch; b++)
        {
            for (var i = 0; i < SameThreadBatch; i++)
            {
                _requests.Writer.WriteAsync(new ChannelMessage(_small, null)).GetAwaiter().GetResult();
            }

            for (var i = 0; i < SameThreadBatch; i++)
            {
                _requests.Reader.ReadAsync().GetAwaiter().GetResult();
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Messages / 10)]
    public async Task RequestReply32B_Kernel()
    {
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < Messages / 10; i++)
            {
                var request = await _server.ReceiveMessageAsync(_serverPort);
                var reply = new PortMessage { Destination = request.ReplyPort, DestinationDisposition = PortDisposition.MoveSendOnce, Payload = _small };
                await _server.SendMessageAsync(reply);
            }
        });
        for (var i = 0; i < Messages / 10; i++)
        {
            await _client.SendMessageAsync(new PortMessage
            {
                Destination = _serverSend,
                Payload = _small,
                ReplyPort = _replyPort,
                ReplyDisposition = PortDisposition.MakeSendOnce,
            });
            await _client.ReceiveMessageAsync(_replyPort);
        }

        await server;
    }

    /// <summary>
    /// Request/reply with the combined call, as Mach clients and servers make it: the client sends
    /// and waits on its reply port in one call, the server answers and takes the next request in
    /// one, and the client's thread runs the server until its reply is sent (handoff).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Messages / 10)]
    public async Task RequestReply32B_KernelCall()
    {
        var server = Task.Run(async () =>
        {
            var request = await _server.ReceiveMessageAsync(_serverPort);
            for (var i = 1; i < Messages / 10; i++)
            {
                request = await _server.SendReceiveAsync(Reply(request), _serverPort);
            }

            await _server.SendMessageAsync(Reply(request));
        });
        for (var i = 0; i < Messages / 10; i++)
        {
            await _client.SendReceiveAsync(
                new PortMessage { Destination = _serverSend, Payload = _small, ReplyPort = _replyPort, ReplyDisposition = PortDisposition.MakeSendOnce },
                _replyPort);
        }

        await server;
    }

    private PortMessage Reply(PortMessage request) =>
        new() { Destination = request.ReplyPort, DestinationDisposition = PortDisposition.MoveSendOnce, Payload = _small };

    [Benchmark(OperationsPerInvoke = Messages / 10)]
    public async Task RequestReply32B_Channel()
    {
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < Messages / 10; i++)
            {
                var request = await _requests.Reader.ReadAsync();
                await request.ReplyTo!.Writer.WriteAsync(new ChannelMessage(_small, null));
            }
        });
        for (var i = 0; i < Messages / 10; i++)
        {
            await _requests.Writer.WriteAsync(new ChannelMessage(_small, _replies));
            await _replies.Reader.ReadAsync();
        }

        await server;
    }

    private async Task OneWayKernelAsync(bool large)
    {
        var consumer = Task.Run(async () =>
        {
            long bytes = 0;
            for (var i = 0; i < Messages; i++)
            {
                var m = await _consumer.ReceiveMessageAsync(_consumerPort);
                bytes += m.Payload.Length + (m.OutOfLine is { } ool ? ool[0].Data.Length : 0);
            }

            return bytes;
        });
        for (var i = 0; i < Messages; i++)
        {
            var message = new PortMessage { Destination = _consumerSend };
            if (large)
            {
                message.OutOfLine = [new OutOfLineRegion(_large)];
            }
            else
            {
                message.Payload = _small;
            }

            await _client.SendMessageAsync(message);
        }

        await consumer;
    }

    private async Task OneWayChannelAsync(bool large)
    {
        var consumer = Task.Run(async () =>
        {
            long bytes = 0;
            for (var i = 0; i < Messages; i++)
            {
                var m = await _requests.Reader.ReadAsync();
                bytes += m.Payload.Length + (m.OutOfLine is { } ool ? ool[0].Length : 0);
            }

            return bytes;
        });
        for (var i = 0; i < Messages; i++)
        {
            await _requests.Writer.WriteAsync(large ? new ChannelMessage(default, null) { OutOfLine = [_large] } : new ChannelMessage(_small, null));
        }

        await consumer;
    }

    private sealed record ChannelMessage(ReadOnlyMemory<byte> Payload, Channel<ChannelMessage>? ReplyTo)
    {
        public ReadOnlyMemory<byte>[]? OutOfLine { get; init; }
    }
}
