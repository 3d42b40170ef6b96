import { fork } from 'node:child_process';
const child = fork('/work/main/xds/bench/cp-child.ts', ['/tmp/bx'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
child.on('message', (m) => { console.log('msg', m); child.kill(); });
child.on('exit', (c, s) => console.log('exit', c, s));
